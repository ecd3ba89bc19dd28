import { afterEach, describe, expect, it, vi } from 'vitest';
import { FragmentCoalescer } from '../../../gateway/fragments/cache/global-coalescer';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { delay, gate, gatewayFor, html, upstream } from '../harness';

/**
 * What a shared page cache must never do: serve one visitor's answer to
 * another, let a visitor's input into a page others get, or turn one slow or
 * failing origin request into many. Each case was found in review and failed
 * before its fix.
 */
const originState = (response: Response) => /^origin;dur=\d+;desc="([a-z]+)"/.exec(response.headers.get('server-timing') ?? '')?.[1];

async function view(get: ReturnType<typeof gatewayFor>, path = '/p', init?: RequestInit) {
  const response = await get(path, init);
  const body = await response.text().catch((error) => `failed: ${error}`);
  await response.settled();
  return { body, status: response.status, state: originState(response), headers: response.headers };
}

/** A body that arrives in parts, `gapMs` apart. */
function trickle(parts: string[], gapMs: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    async start(controller) {
      for (const part of parts) {
        controller.enqueue(encoder.encode(part));
        await delay(gapMs);
      }
      controller.close();
    },
  });
}

/** A Durable Object namespace whose every stub is one in-process FragmentCoalescer: several gateways (isolates) share it. */
function coalescerNamespace(): DurableObjectNamespace {
  const coalescer = new FragmentCoalescer({ waitUntil: () => {} });
  return {
    idFromName: (name: string) => name,
    get: () => ({ fetch: (url: string, init: RequestInit) => coalescer.fetch(new Request(url, init)) }),
  } as unknown as DurableObjectNamespace;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('page cache: nothing of one visitor reaches another', () => {
  it('never hands one isolate the cookie another isolate was set, through global coalescing', async () => {
    const released = gate();
    let served = 0;
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => {
      await released.opened;
      served++;
      return html(`<p>for visitor ${served}</p>`, { 'set-cookie': `sid=secret-${served}` });
    });
    const namespace = coalescerNamespace();
    const manifest = { route: '/p', page: { ttl: '1h', coalesce: 'global' } } as RouteManifest;
    // The origin is reached through the Object (globalThis.fetch) or, when it says not to share, directly (the same fetch).
    const net = upstream({});
    const isolates = [0, 1].map(() => gatewayFor({ ...net, fetch: globalThis.fetch }, manifest, { env: { TESSERA_COALESCER: namespace } as never }));
    const views = isolates.map((get) => view(get));
    await delay(30);
    released.open();
    const [a, b] = await Promise.all(views);
    expect(a.headers.get('set-cookie')).not.toBe(b.headers.get('set-cookie'));
    expect(a.body).not.toBe(b.body);
  });

  it('sends the origin none of the visitor headers the key does not cover, so none can be reflected into the page others get', async () => {
    const net = upstream({
      '/p': (request) => html(`<p>${['forwarded', 'x-forwarded-port', 'x-original-url', 'referer'].map((h) => request.headers.get(h)).join('|')}</p>`),
    });
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h' } } as RouteManifest);
    const attacker = await view(get, '/p', {
      headers: { forwarded: 'host=evil.example', 'x-forwarded-port': '1337', 'x-original-url': '/admin', referer: 'https://evil.example/' },
    });
    const victim = await view(get);
    expect(attacker.body).toBe('<p>|||</p>');
    expect(victim).toMatchObject({ state: 'hit', body: '<p>|||</p>' });
  });

  it('keys a cookie on the value the origin receives, so a percent-encoded copy cannot fill another value`s entry', async () => {
    const net = upstream({ '/p': (request) => html(`<p>${request.headers.get('cookie')}</p>`) });
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h', vary: ['cookie.currency'] } } as RouteManifest);
    await view(get, '/p', { headers: { cookie: 'currency=%45UR' } });
    expect(await view(get, '/p', { headers: { cookie: 'currency=EUR' } })).toMatchObject({ state: 'miss', body: '<p>currency=EUR</p>' });
  });

  it('tells downstream caches what page.vary names: a page cached per cookie is private', async () => {
    const net = upstream({ '/p': () => html('<p>price</p>', { 'cache-control': 'public, max-age=300' }) });
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h', vary: ['cookie.currency'] } } as RouteManifest);
    for (const seen of [await view(get, '/p', { headers: { cookie: 'currency=EUR' } }), await view(get, '/p', { headers: { cookie: 'currency=EUR' } })]) {
      expect(seen.headers.get('cache-control')).toMatch(/\bprivate\b/);
    }
  });

  it('keeps the cookie the gateway sets for a visitor on a 304', async () => {
    const net = upstream({ '/p': () => html('<main><div data-slot="recs">…</div></main>'), '/recs': () => html('A'), '/recs-b': () => html('B') });
    const manifest = {
      route: '/p',
      page: { ttl: '1h' },
      fragments: { recs: { src: '/recs', ttl: '1m', experiment: 'recs-test', variants: { b: { src: '/recs-b', weight: 50 } } } },
    } as RouteManifest;
    const get = gatewayFor(net, manifest);
    await view(get, '/p', { headers: { cookie: 'tessera-visitor=known' } });
    const first = await view(get, '/p', { headers: { cookie: 'tessera-visitor=known' } });
    const etag = first.headers.get('etag') ?? '';
    // A visitor with no id yet, whose assigned arm happens to render the body that ETag names, gets a 304 that still sets their id.
    for (let attempt = 0; attempt < 20; attempt++) {
      const reload = await view(get, '/p', { headers: { 'if-none-match': etag } });
      if (reload.status !== 304) continue;
      expect(reload.headers.get('set-cookie')).toMatch(/^tessera-visitor=/);
      return;
    }
    throw new Error('no visitor got the 304 in 20 tries');
  });
});

describe('page cache: one origin request, bounded', () => {
  it('gives a view that waits on a slow-bodied miss the stored page, not a timeout', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const net = upstream({ '/p': () => html(trickle(['<main>', 'a', 'b', 'c', '</main>'], 150)) });
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h' }, timeouts: { origin: '200ms' } } as RouteManifest);
    const first = view(get);
    await delay(20);
    const second = view(get);
    const views = await Promise.all([first, second]);
    expect(views.map((v) => [v.status, v.body])).toEqual([
      [200, '<main>abc</main>'],
      [200, '<main>abc</main>'],
    ]);
    expect(net.requested('/p')).toHaveLength(1);
  });

  it('asks an origin that is down once for all the views waiting on it', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const released = gate();
    const net = upstream({ '/p': () => released.opened.then(() => Promise.reject(new TypeError('connection refused'))) });
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h' } } as RouteManifest);
    const views = Array.from({ length: 10 }, () => view(get));
    await delay(20);
    released.open();
    expect(new Set((await Promise.all(views)).map((v) => v.status))).toEqual(new Set([502]));
    expect(net.requested('/p')).toHaveLength(1);
  });

  it('refreshes a stale page behind the view`s own fragments, which are not kept waiting', async () => {
    let slow = false;
    let version = 0;
    const net = upstream({
      '/p': async () => {
        if (slow) await delay(600);
        return html(`<main>v${++version}<div data-slot="a"></div></main>`);
      },
      '/a': () => html('A'),
    });
    let now = 1_000_000;
    const manifest = { route: '/p', page: { ttl: '1m', staleWhileRevalidate: '10m' }, limits: { concurrency: 1 }, fragments: { a: { src: '/a', ttl: '0s' } } };
    const get = gatewayFor(net, manifest as RouteManifest, { cache: { now: () => now } });
    await view(get);
    now += 2 * 60_000;
    slow = true;
    const started = Date.now();
    const response = await get('/p');
    expect(await response.text()).toBe('<main>v1<div data-slot="a">A</div></main>');
    expect(Date.now() - started).toBeLessThan(400);
    await response.settled();
  });
});
