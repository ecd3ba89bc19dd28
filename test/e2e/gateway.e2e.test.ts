import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { freePort, quietIo } from '../../tools/local-server';
import { startFixtureOrigin } from './fixture-origin';

/** The real gateway in workerd (via `tessera dev`) in front of a real origin on 127.0.0.1. */
let origin: Awaited<ReturnType<typeof startFixtureOrigin>>;
let gateway: DevServer;
let manifests: string;
const { io, log } = quietIo(process.cwd());

const MANIFEST = (price: string) =>
  `route: /page
routes: null
fragments:
  price:
    src: /frag/price?v=${price}
    timeout: 2s
`.replace('routes: null\n', '');

beforeAll(async () => {
  origin = await startFixtureOrigin();
  manifests = await mkdtemp(path.join(tmpdir(), 'tessera-e2e-'));
  await writeFile(path.join(manifests, 'page.yaml'), MANIFEST('2'));
  await writeFile(path.join(manifests, 'other.yaml'), 'routes: [/gzip, /br, /utf8]\ndefaults: { timeout: 2s }\n');
  await writeFile(path.join(manifests, 'cached.yaml'), 'route: /cached\nfragments:\n  counted: { src: /frag/counted, ttl: 1m, timeout: 2s }\n');
  gateway = await startDevServer({ origin: origin.url, manifests, port: await freePort(), demo: false, io });
});

afterAll(async () => {
  await gateway?.close();
  await origin?.close();
  await rm(manifests, { recursive: true, force: true });
});

describe('gateway end to end', () => {
  it('streams the head at once, then fills fragments in order', async () => {
    const response = await fetch(`${gateway.url}/page`);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('</head>')) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    // The gated fragment cannot have answered yet: the head came first.
    expect(text).not.toContain('gated');
    origin.open('gated');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe('<html><head><title>Fixture</title></head><body><p>gated</p><div data-slot="price">€2</div><p>with cookie</p></body></html>');
    expect(response.headers.getSetCookie()).toEqual(['session=abc; Path=/; HttpOnly', 'theme=dark; Path=/']);
    expect(response.headers.get('server-timing')).toMatch(/^origin;dur=\d+, fragment\.price/);
    expect(response.headers.get('surrogate-control')).toBeNull();
  });

  it.each(['gzip', 'br'])('decodes a %s origin body and serves it intact', async (encoding) => {
    const expected = '<html><head></head><body><p>Zürich ✓</p><b>fast ñ</b></body></html>';
    expect(await (await fetch(`${gateway.url}/${encoding}`)).text()).toBe(expected);
    const identity = await rawGet(`${gateway.url}/${encoding}`, { 'accept-encoding': 'identity' });
    expect(identity.headers['content-encoding'] ?? 'identity').toBe('identity');
    expect(identity.body).toBe(expected);
  });

  it('keeps UTF-8 intact when the origin splits characters across TCP writes', async () => {
    expect(await (await fetch(`${gateway.url}/utf8`)).text()).toBe('<p>Grüße — 日本 😀</p><b>fast ñ</b>');
  });

  it('serves a cached fragment from the cache on the next page view', async () => {
    const first = await (await fetch(`${gateway.url}/cached`)).text();
    const second = await (await fetch(`${gateway.url}/cached`)).text();
    expect([first, second]).toEqual(['<div data-slot="counted"><i>counted 1</i></div>', '<div data-slot="counted"><i>counted 1</i></div>']);
    expect(origin.requests.filter((p) => p === '/frag/counted')).toHaveLength(1);
    // The waterfall line reaches the dev console from workerd after the body.
    const hit = /tessera: \/cached \d+ms \| origin \d+ms \| counted \d+ms hit/;
    for (const deadline = Date.now() + 5000; !hit.test(log.join('')) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
    expect(log.join('')).toMatch(hit);
  });

  it('proxies other methods with their bodies, and unknown paths untouched', async () => {
    const echo = await fetch(`${gateway.url}/echo`, { method: 'PUT', body: 'payload' });
    expect(await echo.text()).toBe('PUT payload');
    const missing = await fetch(`${gateway.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('not found');
  });

  it('picks up a manifest edit without a restart', async () => {
    const reloaded = gateway.reloaded();
    await writeFile(path.join(manifests, 'page.yaml'), MANIFEST('3'));
    await reloaded;
    origin.open('gated');
    let body = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      body = await (await fetch(`${gateway.url}/page`)).text();
      if (body.includes('€3')) break;
    }
    expect(body).toContain('<div data-slot="price">€3</div>');
  });

  it('keeps the last good manifests when an edit is invalid, and says why', async () => {
    const reloaded = gateway.reloaded();
    await writeFile(path.join(manifests, 'page.yaml'), 'route: /page\nfragments:\n  price: { src: /frag/price, timeout: whenever }\n');
    await reloaded;
    expect(log.join('')).toContain('page.yaml:3:39: fragments.price.timeout: expected a duration');
    expect(await (await fetch(`${gateway.url}/page`)).text()).toContain('€3');
  });
});

/** A GET with exact request headers and no automatic decompression. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}
