import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { checkManifest } from '../cli/load-manifests';
import type { CompiledManifests } from '../gateway/contract/types';
import { assembleManifests } from '../gateway/manifest/compile';

/**
 * The benchmarks' origin on 127.0.0.1: one page of about `pageKb` KB in
 * several markups, the same filler and the same fragment positions in each,
 * and fragment endpoints answering after their injected latency. Fragment i
 * sits at document position i and takes `fragmentMs[i]`. The manifests that
 * assemble it come along:
 *   /page          `<div data-slot>` markers, fragments declared (ESI off)
 *   /esi-declared  `<esi:include src>` tags whose src the manifest declares
 *   /esi-found     `<esi:include src>` tags the manifest knows nothing of
 *   /cached        the data-slot page, its fragments cached for an hour
 *   /everything-cached  the same, and the page itself cached (`page: { ttl: 10m }`):
 *                  the same for everyone, so kept assembled
 *   /per-visitor-cached  the same, but the page varies by a cookie
 *                  (`page.vary`): private, so assembled on every view
 *   /page-cached   the data-slot page cached (`page:`), its fragments not:
 *                  with a query that changes every view, each view is a miss
 *   /tailor        Zalando Tailor's `<fragment src>` tags (bench/peers)
 */
export interface BenchOriginOptions {
  originMs: number;
  fragmentMs: number[];
  pageKb: number;
  /** The fragments' ttl in the manifest (default: not cached). */
  fragmentTtl?: string;
}

export interface BenchOrigin {
  url: string;
  /** The data-slot page's markup. */
  page: string;
  manifests: CompiledManifests;
  /** Fragment requests the origin has answered. */
  fragmentFetches(): number;
  /** Page requests the origin has answered for this path and query (`/page-cached?n=3`), latency included. */
  pageRequests(pathAndQuery: string): number;
  /** Switches the injected latencies off (saturation runs) and on again. */
  setLatency(enabled: boolean): void;
  close(): Promise<void>;
}

/** The baseline Worker the gateway is measured against. */
export const PASS_THROUGH_ENTRY = fileURLToPath(new URL('./pass-through.worker.ts', import.meta.url));

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
const FILLER = `<p>${'lorem ipsum dolor sit amet '.repeat(37)}</p>\n`; // ~1 KB

/** The same page with each fragment's marker written by `marker`. */
function pageWith(fragmentMs: number[], pageKb: number, marker: (i: number) => string): string {
  const filler = FILLER.repeat(Math.floor(pageKb / Math.max(1, fragmentMs.length)));
  return `<!doctype html><html><head><title>bench</title></head><body>\n${fragmentMs.map((_, i) => `${filler}${marker(i)}\n`).join('')}</body></html>`;
}

export async function startBenchOrigin({ originMs, fragmentMs, pageKb, fragmentTtl }: BenchOriginOptions): Promise<BenchOrigin> {
  let fragmentFetches = 0;
  const pageRequests = new Map<string, number>();
  let latency = true;
  let url = '';
  const pages = new Map<string, () => string>([
    ['/page', () => pageWith(fragmentMs, pageKb, (i) => `<div data-slot="f${i}">fallback</div>`)],
    ['/esi-declared', () => pageWith(fragmentMs, pageKb, (i) => `<esi:include src="/frag/${i}"/>`)],
    ['/esi-found', () => pageWith(fragmentMs, pageKb, (i) => `<esi:include src="/frag/${i}"/>`)],
    ['/tailor', () => pageWith(fragmentMs, pageKb, (i) => `<fragment src="${url}/frag/${i}"></fragment>`)],
  ]);
  const rendered = new Map<string, string>();
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://bench').pathname;
    const fragment = /^\/frag\/(\d+)$/.exec(path);
    if (fragment) {
      fragmentFetches++;
      if (latency) await sleep(fragmentMs[Number(fragment[1])]);
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<span>fragment ${fragment[1]}</span>`);
    }
    const asked = req.url ?? '/';
    pageRequests.set(asked, (pageRequests.get(asked) ?? 0) + 1);
    const render = pages.get(path) ?? pages.get('/page');
    if (!render) return res.writeHead(404).end();
    if (!rendered.has(path)) rendered.set(path, render());
    if (latency) await sleep(originMs);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(rendered.get(path));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const declare = (ttl: string) =>
    fragmentMs.length ? `\n${fragmentMs.map((_, i) => `  f${i}: { src: /frag/${i}, timeout: 2s${ttl} }\n`).join('')}` : ' {}\n';
  const declared = declare(fragmentTtl ? `, ttl: ${fragmentTtl}` : '');
  const manifests = [
    `route: /page\nfragments:${declared}`,
    `route: /esi-declared\nesi: on\nfragments:${declared}`,
    `route: /esi-found\nesi: on\nfragments: {}\n`,
    `route: /cached\nfragments:${declare(', ttl: 1h')}`,
    `route: /everything-cached\npage: { ttl: 10m }\nfragments:${declare(', ttl: 1h')}`,
    `route: /per-visitor-cached\npage: { ttl: 10m, vary: [cookie.currency] }\nfragments:${declare(', ttl: 1h')}`,
    `route: /page-cached\npage: { ttl: 10m }\nfragments:${declared}`,
    `route: /out-of-order\nplacement: out-of-order\ninOrderFor: []\nfragments:${declared}`,
  ].map((text, i) => {
    const { route, diagnostics } = checkManifest(text, `bench-${i}.yaml`, `bench-${i}`);
    if (!route) throw new Error(diagnostics.map((d) => d.message).join('\n'));
    return route;
  });
  return {
    url,
    page: pageWith(fragmentMs, pageKb, (i) => `<div data-slot="f${i}">fallback</div>`),
    manifests: assembleManifests(manifests),
    fragmentFetches: () => fragmentFetches,
    pageRequests: (pathAndQuery) => pageRequests.get(pathAndQuery) ?? 0,
    setLatency: (enabled) => {
      latency = enabled;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
