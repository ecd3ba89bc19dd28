import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkManifest } from '../../cli/load-manifests';
import { type RunningWorker, startWorker } from '../../cli/workerd-host';
import { assembleManifests } from '../../gateway/manifest/compile';

/**
 * `coalesce: global` under the real Durable Object runtime: three gateway
 * Workers (three isolates, each with its own memory cache and in-flight map)
 * share one FragmentCoalescer namespace, in front of a real origin whose
 * fragment is held open until every page has started.
 */
let release: () => void = () => {};
let held = new Promise<void>((resolve) => (release = resolve));
const fetches = new Map<string, number>();
const origin = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  if (url.pathname === '/page') {
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end(`<div data-slot="f">own</div>`);
  }
  if (url.pathname.startsWith('/shell/')) {
    fetches.set(url.pathname, (fetches.get(url.pathname) ?? 0) + 1);
    await held;
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end('<main>shell</main>');
  }
  fetches.set(url.pathname, (fetches.get(url.pathname) ?? 0) + 1);
  await held;
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('shared');
});

const gateways: RunningWorker[] = [];
async function gateway(
  coalesce: 'isolate' | 'global',
  src: string,
  manifest = `route: /page\nfragments:\n  f: { src: ${src}, ttl: 1m, timeout: 5s, coalesce: ${coalesce} }\n`,
) {
  const { route } = checkManifest(manifest, 'page.yaml', 'page');
  const { port } = origin.address() as AddressInfo;
  const running = await startWorker({ routes: assembleManifests([route!]), bindings: { ORIGIN: `http://127.0.0.1:${port}` }, peers: 2 });
  gateways.push(running);
  return running;
}

/** Ten pages on each of the three isolates at once; the fragment answers once all of them have their headers. */
async function burst(running: RunningWorker): Promise<string[]> {
  held = new Promise<void>((resolve) => (release = resolve));
  const pages = await Promise.all([0, 1, 2].flatMap((peer) => Array.from({ length: 10 }, () => running.fetchPeer(peer, '/page'))));
  const bodies = Promise.all(pages.map((p) => p.text()));
  await new Promise((resolve) => setTimeout(resolve, 200)); // every isolate is waiting on its miss
  release();
  return bodies;
}

beforeAll(() => new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve)));
afterAll(async () => {
  for (const running of gateways) await running.dispose();
  origin.closeAllConnections();
  await new Promise((resolve) => origin.close(resolve));
});

it('makes one upstream fetch across isolates with coalesce: global, where each isolate would make its own', async () => {
  const perIsolate = await burst(await gateway('isolate', '/frag/isolate'));
  expect(new Set(perIsolate)).toEqual(new Set(['<div data-slot="f">shared</div>']));
  expect(fetches.get('/frag/isolate')).toBe(3);

  const global = await burst(await gateway('global', '/frag/global'));
  expect(new Set(global)).toEqual(new Set(['<div data-slot="f">shared</div>']));
  expect(fetches.get('/frag/global')).toBe(1);
}, 60_000);

it('makes one origin request for a cached page across isolates with page.coalesce: global', async () => {
  const views = async (coalesce: 'isolate' | 'global') => {
    const running = await gateway(coalesce, '', `route: /shell/${coalesce}\npage: { ttl: 1m, coalesce: ${coalesce} }\n`);
    // Each isolate serves a page first, so that on a loaded machine none is still starting when the burst's origin request ends.
    for (const peer of [0, 1, 2]) await (await running.fetchPeer(peer, '/page')).text();
    held = new Promise<void>((resolve) => (release = resolve));
    const pages = [0, 1, 2].flatMap((peer) => Array.from({ length: 10 }, () => running.fetchPeer(peer, `/shell/${coalesce}`).then((page) => page.text())));
    await new Promise((resolve) => setTimeout(resolve, 1000)); // every isolate is waiting on its miss
    release();
    return Promise.all(pages);
  };
  expect(new Set(await views('isolate'))).toEqual(new Set(['<main>shell</main>']));
  expect(fetches.get('/shell/isolate')).toBe(3);
  expect(new Set(await views('global'))).toEqual(new Set(['<main>shell</main>']));
  expect(fetches.get('/shell/global')).toBe(1);
}, 60_000);
