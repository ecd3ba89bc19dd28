import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { freePort, quietIo } from '../../tools/local-server';

/**
 * Conditional requests through `tessera dev`, against a real origin on
 * 127.0.0.1: a cached page whose fragment is cached for one second.
 */
let origin: Server;
let dev: DevServer;
let manifests: string;
let fragment = 'first';
let pageRequests = 0;

beforeAll(async () => {
  origin = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    if (req.url === '/fragments/news') return void res.end(`<b>${fragment}</b>`);
    // The gateway's requests (tessera dev also looks at the origin itself when it starts).
    if (req.url === '/news' && req.headers['x-forwarded-proto']) pageRequests++;
    res.end('<!doctype html><title>News</title><main><div data-slot="news">loading</div></main>');
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  manifests = await mkdtemp(path.join(tmpdir(), 'tessera-conditional-'));
  await writeFile(path.join(manifests, 'news.yaml'), 'route: /news\npage: { ttl: 10m }\nfragments:\n  news: { src: /fragments/news, ttl: 1s }\n');
  const { port } = origin.address() as AddressInfo;
  dev = await startDevServer({ origin: `http://127.0.0.1:${port}`, manifests, port: await freePort(), demo: false, io: quietIo(process.cwd()).io });
}, 60_000);

afterAll(async () => {
  await dev?.close();
  await new Promise((resolve) => origin?.close(resolve));
  if (manifests) await rm(manifests, { recursive: true, force: true });
});

it('answers the reload of a cached page with 304 and no body, and with 200 and the new body once a fragment changed', async () => {
  await (await fetch(`${dev.url}/news`)).text(); // the miss that stores the page and its fragment
  const cached = await fetch(`${dev.url}/news`);
  expect(await cached.text()).toContain('<div data-slot="news"><b>first</b></div>');
  const etag = cached.headers.get('etag');
  expect(etag).toMatch(/^W\/"/);

  const reload = await fetch(`${dev.url}/news`, { headers: { 'if-none-match': etag ?? '' } });
  expect(reload.status).toBe(304);
  expect((await reload.arrayBuffer()).byteLength).toBe(0);
  expect(pageRequests).toBe(1);

  fragment = 'second';
  // Once the fragment's one-second ttl has passed, the next revalidation gets the new body (bounded: 40 tries, 100 ms apart).
  let revalidated: Response | undefined;
  for (let attempt = 0; attempt < 40; attempt++) {
    revalidated = await fetch(`${dev.url}/news`, { headers: { 'if-none-match': etag ?? '' } });
    if (revalidated.status === 200) break;
    await revalidated.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(revalidated?.status).toBe(200);
  expect(await revalidated?.text()).toContain('<div data-slot="news"><b>second</b></div>');
  expect(revalidated?.headers.get('etag')).not.toBe(etag);
});
