import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The origin the resilience suite runs against, on 127.0.0.1: pages with
 * fragments, where a seeded share of fragment requests fail in one of four
 * ways, plus pages whose own body breaks, stalls or never starts. It counts
 * the faults it injected, per page, and notes every request it gets.
 */
export const FRAGMENT_IDS = ['a', 'b', 'c', 'd'] as const;
export type Fault = 'error' | 'timeout' | 'break' | 'slow';
const FAULTS: Fault[] = ['error', 'timeout', 'break', 'slow'];

/** The fragment's own markup, and what the page holds in its place when it fails. */
export const fragmentHtml = (id: string) => `<span class="frag">fragment ${id}</span>`;
export const slotFallback = (id: string) => `fallback ${id}`;

/** ~20 KB of page around the slots, so that pages arrive in several chunks. */
const FILLER = `<p>${'resilient composition at the edge '.repeat(30)}</p>\n`;
export function pageHtml(n: string): string {
  const slots = FRAGMENT_IDS.map((id) => `<div data-slot="${id}">${slotFallback(id)}</div>\n${FILLER.repeat(5)}`).join('');
  return `<!doctype html><html><head><title>page ${n}</title></head><body>\n${FILLER.repeat(2)}${slots}<esi:include src="/frag/e/${n}"/>\n</body></html>`;
}

export interface FaultOrigin {
  url: string;
  /** Faults injected into fragment requests, by page number. */
  faultsByPage: Map<string, Fault[]>;
  /** Every path requested, in order. */
  paths: string[];
  /** X-Forwarded-Host values the origin saw. */
  forwardedHosts: Set<string>;
  /** Fragment requests for `/frag/hold/*` whose connection closed before they were answered. */
  heldClosed: () => number;
  close(): Promise<void>;
}

export async function startFaultOrigin({ faultRate = 0.2, seed = 7, fragmentTimeoutMs = 300 } = {}): Promise<FaultOrigin> {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const faultsByPage = new Map<string, Fault[]>();
  const paths: string[] = [];
  const forwardedHosts = new Set<string>();
  let heldClosed = 0;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    paths.push(url.pathname + url.search);
    const host = req.headers['x-forwarded-host'];
    if (typeof host === 'string') forwardedHosts.add(host);
    const html = (status = 200) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    // writeHead returns the response, so `html().end(body)` answers in one go.
    const [, kind, id, n] = url.pathname.split('/');

    if (kind === 'page' || kind === 'hostile-esi') {
      html();
      const page = kind === 'page' ? pageHtml(id) : hostilePage(url.searchParams.get('attacker') ?? '');
      // Several writes, so the gateway assembles a stream and not a single chunk.
      for (let at = 0; at < page.length; at += 8192) res.write(page.slice(at, at + 8192));
      return void res.end();
    }
    if (kind === 'broken') {
      html();
      res.write(pageHtml(id).slice(0, 9000));
      await sleep(20);
      return void res.destroy();
    }
    if (kind === 'stall') {
      html();
      res.write(pageHtml(id).slice(0, 9000));
      return; // and never another byte: the gateway's idle timeout ends it
    }
    if (kind === 'hang') return; // no headers at all
    if (kind === 'hold')
      return void html().end(`<html><head></head><body><div data-slot="quick">q</div>${FILLER}<div data-slot="hold">waiting</div></body></html>`);
    if (kind === 'tpl') return void html().end('<div data-slot="t">own</div>');
    if (kind === 'frag' && id === 'hold') {
      res.once('close', () => res.writableFinished || heldClosed++);
      await sleep(10_000);
      if (!res.destroyed) res.end('late');
      return;
    }
    if (kind === 'frag') {
      const fault = random() < faultRate ? FAULTS[Math.floor(random() * FAULTS.length)] : undefined;
      if (fault) faultsByPage.set(n, [...(faultsByPage.get(n) ?? []), fault]);
      if (fault === 'error') return void html(503).end('down');
      if (fault === 'timeout') await sleep(fragmentTimeoutMs * 2);
      if (fault === 'slow') await sleep(fragmentTimeoutMs / 3);
      if (res.destroyed) return;
      html();
      const body = fragmentHtml(id);
      if (fault === 'break') {
        res.write(body.slice(0, 10));
        await sleep(10);
        return void res.destroy();
      }
      return void res.end(body);
    }
    // Pages that end early (a 404, a body that is not HTML) and a normal one, all needing one shared, slow, never-stored fragment.
    if (kind === 'early') {
      if (id === 'missing') return void html(404).end('no such page');
      if (id === 'text') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('plain');
      return void html().end('<div data-slot="s">own</div>');
    }
    if (kind === 'shared') {
      await sleep(150);
      return void res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' }).end('<b>shared</b>');
    }
    // A fragment whose src carries the visitor's query: many values, one budget.
    if (kind === 'variant') return void html().end(`<i>${url.searchParams.get('q')}</i>`);
    if (kind === 'variants') return void html().end('<div data-slot="v">own</div>');
    if (kind === 't') {
      if (id === 'quick') await sleep(200);
      return void html().end('<b>template</b>');
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faultsByPage,
    paths,
    forwardedHosts,
    heldClosed: () => heldClosed,
    close: () => closeServer(server),
  };
}

/** Includes aimed everywhere but the origin; each must be refused without a request. */
export function hostileSrcs(attacker: string): string[] {
  const { port } = new URL(attacker);
  return [
    `${attacker}/x`,
    `//127.0.0.2:${port}/x`,
    `/\\127.0.0.2:${port}/x`,
    `http:\\\\127.0.0.2:${port}/x`,
    `http://127.2:${port}/x`,
    `http://2130706434:${port}/x`,
    `http://0x7f000002:${port}/x`,
    `http://[::ffff:127.0.0.2]:${port}/x`,
    `http://user:pw@127.0.0.2:${port}/x`,
    `http://127.0.0.2:${port}@127.0.0.2:${port}/x`,
    'javascript:alert(1)',
    'data:text/html,<b>x</b>',
    'file:///etc/passwd',
    'http://169.254.169.254/latest/meta-data',
  ];
}

function hostilePage(attacker: string): string {
  const includes = hostileSrcs(attacker).map((src) => `<esi:include src="${src.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"/>`);
  return `<!doctype html><html><body>[${includes.join('')}]</body></html>`;
}

/** A server that must never be reached: anything that gets here went through an open proxy or SSRF. */
export async function startAttacker(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url} cookie=${req.headers.cookie ?? ''}`);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<p>attacker</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  return { url: `http://127.0.0.2:${(server.address() as AddressInfo).port}`, hits, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
