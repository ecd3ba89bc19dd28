import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifest } from '../../cli/load-manifests';
import { type RunningWorker, startWorker } from '../../cli/workerd-host';
import { assembleManifests } from '../../gateway/manifest/compile';

/**
 * workerd cancels a request's I/O when that request ends. A fragment fetch is
 * shared across pages (coalesced by cache key), so a page that ends early must
 * not take the shared fetch down with it: the next page that needs the same key
 * must get the fragment, not wait out its timeout on a fetch nobody runs.
 *
 * The shared fragment answers after SHARED_MS and is never stored (no-store),
 * so every page misses and joins or starts the in-flight fetch.
 */
const SHARED_MS = 300;
const TIMEOUT_MS = 3000;
let gateway: RunningWorker;
const fragmentRequests: string[] = [];
let holdStream: (() => void) | undefined;
let releaseCached: (() => void) | undefined;
let cachedPageRequests = 0;
/** What the gateway logs: the pages that end early say so (tessera: …), which is expected here, so it is shown only for a failing test. */
const gatewayLog: string[] = [];

const origin = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  const html = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end(body);
  };
  switch (url.pathname) {
    case '/frag/shared':
      fragmentRequests.push(url.pathname);
      await new Promise((resolve) => setTimeout(resolve, SHARED_MS));
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
      return res.end('<b>shared</b>');
    case '/frag/broken':
      return html(500, 'broken');
    case '/p/ok':
      return html(200, '<html><body><div data-slot="shared">origin</div></body></html>');
    case '/p/missing':
      return html(404, 'no such product');
    case '/p/text':
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('plain text');
    case '/deadline':
      // The origin outlives the page deadline.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return html(200, '<html><body><div data-slot="shared">origin</div></body></html>');
    case '/p/stream':
    case '/r/stream':
      // The head, then nothing until the test lets go: the client leaves in between.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write(`<html><head><title>t</title></head><body>${' '.repeat(2048)}`);
      await new Promise<void>((resolve) => {
        holdStream = resolve;
        res.on('close', resolve);
      });
      return res.end('<div data-slot="shared">origin</div></body></html>');
    case '/c/stream': {
      // A cached page's origin: the head, then the rest once the test lets go (after the first client left).
      cachedPageRequests++;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write(`<html><head><title>cached</title></head><body>${' '.repeat(2048)}`);
      await new Promise<void>((resolve) => (releaseCached = resolve));
      return res.end('<p>the rest of the page</p><div data-slot="shared">origin</div></body></html>');
    }
    case '/r/page':
      return html(200, '<html><body><div data-slot="shared">origin</div><div data-slot="must">m</div></body></html>');
    default:
      return html(404, 'not found');
  }
});

const manifests = [
  `route: /p/:kind
fragments:
  shared: { src: /frag/shared, ttl: 1m, timeout: ${TIMEOUT_MS}ms, fallback: { html: FALLBACK } }
`,
  `route: /deadline
timeouts: { page: 100ms }
fragments:
  shared: { src: /frag/shared, ttl: 1m, timeout: ${TIMEOUT_MS}ms, fallback: { html: FALLBACK } }
`,
  `route: /c/:kind
page: { ttl: 1m }
fragments:
  shared: { src: /frag/shared, ttl: 1m, timeout: ${TIMEOUT_MS}ms, fallback: { html: FALLBACK } }
`,
  `route: /r/:kind
fragments:
  shared: { src: /frag/shared, ttl: 1m, timeout: ${TIMEOUT_MS}ms, fallback: { html: FALLBACK } }
  must: { src: /frag/broken, required: true }
`,
];

beforeAll(async () => {
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const routes = manifests.map((text, i) => checkManifest(text, `m${i}.yaml`, `m${i}`).route!);
  const { port } = origin.address() as AddressInfo;
  gateway = await startWorker({
    routes: assembleManifests(routes),
    bindings: { ORIGIN: `http://127.0.0.1:${port}` },
    onLog: (line) => void gatewayLog.push(line),
  });
});

afterAll(async () => {
  holdStream?.();
  await gateway?.dispose();
  origin.closeAllConnections();
  await new Promise((resolve) => origin.close(resolve));
});

/** A normal page that needs the shared key, started while the early page's fetch is still in flight. */
async function nextPage(): Promise<{ body: string; ms: number }> {
  const began = Date.now();
  const body = await (await fetch(`${gateway.url}/p/ok`)).text();
  return { body, ms: Date.now() - began };
}

/** A page the client abandons after its head arrived. */
function abandoned(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(gateway.url);
    const req = httpRequest({ host: hostname, port, path }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (error) => (req.destroyed ? resolve() : reject(error)));
    req.end();
  });
}

describe('a shared fragment fetch outlives the page that started it', () => {
  const endings: Array<[string, () => Promise<unknown>]> = [
    ['the origin answers 404', async () => expect((await fetch(`${gateway.url}/p/missing`)).status).toBe(404)],
    ['the origin answers with something other than HTML', async () => expect(await (await fetch(`${gateway.url}/p/text`)).text()).toBe('plain text')],
    ['a required fragment failed', async () => expect((await fetch(`${gateway.url}/r/page`)).status).toBe(502)],
    ['the page deadline passed', async () => expect((await fetch(`${gateway.url}/deadline`)).status).toBe(504)],
    ['the client went away', () => abandoned('/p/stream')],
  ];

  for (const [ending, endEarly] of endings) {
    it(`serves the next page the fragment when the page before ended early because ${ending}`, async ({ onTestFailed }) => {
      onTestFailed(() => console.error(gatewayLog.join('\n')));
      const before = fragmentRequests.length;
      await endEarly();
      const next = await nextPage();
      expect(next.body).toContain('<b>shared</b>');
      expect(next.body).not.toContain('FALLBACK');
      // Joined the early page's fetch or made its own: never waited out the timeout.
      expect(next.ms).toBeLessThan(TIMEOUT_MS / 2);
      expect(fragmentRequests.length - before).toBeGreaterThanOrEqual(1);
      holdStream?.();
    });
  }

  it('serves every later page the fragment after a 404 (the demo sequence: 42, 5, 42, 42)', async () => {
    expect((await nextPage()).body).toContain('<b>shared</b>');
    expect((await fetch(`${gateway.url}/p/missing`)).status).toBe(404);
    for (let i = 0; i < 3; i++) {
      const next = await nextPage();
      expect(next.body).toContain('<b>shared</b>');
      expect(next.ms).toBeLessThan(TIMEOUT_MS / 2);
    }
  });
});

describe('a cached page being filled outlives the view that started it', () => {
  it('stores the page whose first client left mid-body, and serves it to the next view without asking the origin again', async ({ onTestFailed }) => {
    onTestFailed(() => console.error(gatewayLog.join('\n')));
    await abandoned('/c/stream');
    // The first view's request has ended; only then does the rest of its body arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseCached?.();
    let body = '';
    let timing = '';
    // The copy is stored in the background: the next views join it or find it stored, never ask the origin again.
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${gateway.url}/c/stream`);
      body = await response.text();
      timing = response.headers.get('server-timing') ?? '';
    }
    expect(body).toContain('<p>the rest of the page</p>');
    expect(body).toContain('<b>shared</b>');
    expect(timing).toMatch(/^origin;dur=\d+;desc="hit"/);
    expect(cachedPageRequests).toBe(1);
  });
});
