import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { esiPage, gatewayFor, html, upstream } from '../harness';

/** A clock the test moves: TTLs are checked without waiting for them. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** A page (by default one the origin lets shared caches keep) with two cached fragments whose bodies the test sets. */
function publicShop(options: { fragment?: Record<string, unknown>; env?: Record<string, unknown>; origin?: Record<string, string>; pageTtl?: string } = {}) {
  const bodies: Record<string, string> = { a: 'A1', b: 'B1' };
  let fragmentFetches = 0;
  const fragment = (id: string) => {
    fragmentFetches++;
    return html(bodies[id]);
  };
  const net = upstream({
    '/p': () => html('<main><div data-slot="a">…</div><div data-slot="b">…</div></main>', options.origin ?? { 'cache-control': 'public, max-age=300' }),
    '/a': () => fragment('a'),
    '/b': () => fragment('b'),
  });
  const time = clock();
  const fragments = { a: { src: '/a', ttl: '1m', tags: ['shop'], ...options.fragment }, b: { src: '/b', ttl: '1m' } };
  const get = gatewayFor(net, { route: '/p', page: { ttl: options.pageTtl ?? '1h' }, fragments } as RouteManifest, {
    cache: { now: time.now, random: () => 0.5 },
    env: options.env,
  });
  const view = async (path = '/p', init?: RequestInit) => {
    const response = await get(path, init);
    const body = await response.text();
    await response.settled();
    return { status: response.status, body, timing: response.headers.get('server-timing') ?? '', etag: response.headers.get('etag') };
  };
  return {
    view,
    get,
    time,
    bodies,
    get fragmentFetches() {
      return fragmentFetches;
    },
  };
}

const ASSEMBLED = /assembled;desc="hit"/;

describe('assembled pages', () => {
  it('answers a page the same for everyone from its assembled copy, resolving no fragment, byte for byte as assembled', async () => {
    const shop = publicShop();
    await shop.view(); // miss: the page and its fragments are stored
    const compiled = await shop.view(); // the first hit: compiled, assembled, kept
    expect(compiled.timing).not.toMatch(ASSEMBLED);
    const fetches = shop.fragmentFetches;
    const assembled = await shop.view();
    expect(assembled.timing).toMatch(ASSEMBLED);
    expect(assembled.body).toBe(compiled.body);
    expect(assembled.etag).toBe(compiled.etag);
    expect(shop.fragmentFetches).toBe(fetches);
    expect((await shop.view('/p', { headers: { 'if-none-match': compiled.etag ?? '' } })).status).toBe(304);
    const head = await shop.view('/p', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '', etag: compiled.etag });
    expect(head.timing).toMatch(ASSEMBLED);
  });

  it('keeps it no longer than its fragments stay fresh', async () => {
    const shop = publicShop();
    await shop.view();
    await shop.view();
    expect((await shop.view()).timing).toMatch(ASSEMBLED);
    shop.bodies.a = 'A2';
    shop.time.advance(61_000); // the fragments' ttl (no jitter here), not the page's
    const after = await shop.view();
    expect(after.timing).not.toMatch(ASSEMBLED);
    expect(after.body).toContain('<div data-slot="a">A2</div>');
  });

  it('keeps a page whose origin says nothing about caching: it reads nothing from the visitor, so its parts decide its bytes', async () => {
    const shop = publicShop({ origin: {} });
    await shop.view();
    const compiled = await shop.view();
    const fetches = shop.fragmentFetches;
    const assembled = await shop.view();
    expect(assembled.timing).toMatch(ASSEMBLED);
    expect(assembled.body).toBe(compiled.body);
    expect(shop.fragmentFetches).toBe(fetches);
  });

  it('keeps it no longer than the cached page stays fresh', async () => {
    const shop = publicShop({ origin: {}, pageTtl: '5s' });
    await shop.view();
    await shop.view();
    expect((await shop.view()).timing).toMatch(ASSEMBLED);
    shop.time.advance(5_001);
    expect((await shop.view()).timing).not.toMatch(ASSEMBLED);
  });

  it('keeps a copy per hostname the Worker answers on: an assembly may read the host the visitor asked', async () => {
    const shop = publicShop({ origin: {} });
    await shop.view();
    await shop.view();
    expect((await shop.view()).timing).toMatch(ASSEMBLED);
    expect((await shop.view('https://www.shop.test/p')).timing).not.toMatch(ASSEMBLED);
    expect((await shop.view('https://www.shop.test/p')).timing).toMatch(ASSEMBLED);
  });

  it("never keeps a view whose fragment ran its own ESI on the visitor's cookie, though the page's headers could not say so", async () => {
    const net = upstream({
      '/p': () => html('<main><div data-slot="a">…</div></main>'),
      // Under esi: auto a fragment turns ESI on by itself, after the page's headers have gone.
      '/a': () => html('<esi:vars>Hello $(HTTP_COOKIE{name})</esi:vars>', { 'surrogate-control': 'content="ESI/1.0"' }),
    });
    const time = clock();
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h' }, fragments: { a: { src: '/a', ttl: '1m' } } } as RouteManifest, {
      cache: { now: time.now, random: () => 0.5 },
    });
    const view = async (name: string) => {
      const response = await get('/p', { headers: { cookie: `name=${name}` } });
      const body = await response.text();
      await response.settled();
      return { body, timing: response.headers.get('server-timing') ?? '' };
    };
    await view('alice');
    expect((await view('alice')).body).toContain('Hello alice');
    const bob = await view('bob');
    expect(bob.body).toContain('Hello bob');
    expect(bob.timing).not.toMatch(ASSEMBLED);
  });

  it("makes a cached page private whose fragment's own ESI read the visitor, once its body is known before its headers go", async () => {
    const net = upstream({
      '/p': () => html('<main><div data-slot="a">…</div></main>', { 'cache-control': 'public, max-age=300' }),
      '/a': () => html('<esi:vars>Hello $(HTTP_COOKIE{name})</esi:vars>', { 'surrogate-control': 'content="ESI/1.0"' }),
    });
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h' }, fragments: { a: { src: '/a', ttl: '1m' } } } as RouteManifest);
    const view = async (etag?: string | null) => {
      const response = await get('/p', { headers: { cookie: 'name=alice', ...(etag ? { 'if-none-match': etag } : {}) } });
      await response.text();
      await response.settled();
      return { status: response.status, cacheControl: response.headers.get('cache-control') ?? '', etag: response.headers.get('etag') };
    };
    await view(); // the miss streams, its headers before any fragment: they cannot know yet
    const hit = await view();
    expect(hit.cacheControl).toContain('private');
    expect(hit.cacheControl).not.toMatch(/public|s-maxage/);
    // Its 304 says the same: a 304 updates the headers a cache stored.
    const reload = await view(hit.etag);
    expect(reload.status).toBe(304);
    expect(reload.cacheControl).toContain('private');
  });

  it("declares the headers a fragment's own ESI includes forward, so a page read in English is never kept for a French visitor", async () => {
    const net = upstream({
      '/p': () => html('<main><div data-slot="a">…</div></main>', { 'cache-control': 'public, max-age=300' }),
      // Under esi: auto the fragment turns ESI on by itself; its include is undeclared, so it forwards the defaults' headers.
      '/a': () => html('<esi:include src="/greet"/>', { 'surrogate-control': 'content="ESI/1.0"' }),
      '/greet': (request) => html(`greeting:${request.headers.get('accept-language')}`),
    });
    const time = clock();
    const manifest = {
      route: '/p',
      page: { ttl: '1h' },
      defaults: { ttl: '1m', forwardHeaders: ['accept-language'] },
      // The fragment itself forwards nothing: only the include inside it does.
      fragments: { a: { src: '/a', ttl: '1m', forwardHeaders: [] } },
    };
    const get = gatewayFor(net, manifest as unknown as RouteManifest, { cache: { now: time.now, random: () => 0.5 } });
    const view = async (language: string) => {
      const response = await get('/p', { headers: { 'accept-language': language } });
      const body = await response.text();
      await response.settled();
      return { body, vary: response.headers.get('vary') ?? '' };
    };
    for (let i = 0; i < 3; i++) expect((await view('en')).vary.toLowerCase()).toContain('accept-language');
    expect((await view('fr')).body).toContain('greeting:fr');
  });

  it("makes a page private whose fragment's own ESI includes forward a credential", async () => {
    const net = upstream({
      '/p': () => html('<main><div data-slot="a">…</div></main>', { 'cache-control': 'public, max-age=300' }),
      '/a': () => html('<esi:include src="/me"/>', { 'surrogate-control': 'content="ESI/1.0"' }),
      '/me': (request) => html(`account:${request.headers.get('authorization')}`),
    });
    // The fragment itself forwards nothing; the include inside it gets the defaults, and is never cached (ttl 0).
    const manifest = {
      route: '/p',
      page: { ttl: '1h' },
      defaults: { forwardHeaders: ['authorization'] },
      fragments: { a: { src: '/a', ttl: '1m', forwardHeaders: [] } },
    };
    const get = gatewayFor(net, manifest as unknown as RouteManifest);
    for (let i = 0; i < 2; i++) {
      const response = await get('/p', { headers: { authorization: 'Bearer alice' } });
      await response.text();
      await response.settled();
      expect(response.headers.get('cache-control')).toContain('private');
    }
  });

  it('never keeps a view that read an esi_ argument, which the page key leaves out on a route that reads ESI_ARGS', async () => {
    const net = upstream({
      '/p': () => esiPage('<main><esi:include src="/a?c=$(ESI_ARGS{c})"/></main>'),
      '/a': (_request, url) => html(`color ${url.searchParams.get('c')}`),
    });
    const time = clock();
    const manifest = { route: '/p', esi: 'on', esiVariables: ['ESI_ARGS'], page: { ttl: '1h' }, defaults: { ttl: '1m' } };
    const get = gatewayFor(net, manifest as unknown as RouteManifest, { cache: { now: time.now, random: () => 0.5 } });
    const view = async (path: string) => {
      const response = await get(path);
      const body = await response.text();
      await response.settled();
      return { body, timing: response.headers.get('server-timing') ?? '' };
    };
    for (let i = 0; i < 3; i++) expect((await view('/p?esi_c=red')).body).toContain('color red');
    const blue = await view('/p?esi_c=blue');
    expect(blue.body).toContain('color blue');
    expect(blue.timing).not.toMatch(ASSEMBLED);
  });

  it('never keeps a page that varies on a header a fragment reads, though the header is only content negotiation', async () => {
    const shop = publicShop({ origin: {}, fragment: { src: '/a', forwardHeaders: ['accept-language'], vary: ['header.accept-language'] } });
    for (let i = 0; i < 3; i++) expect((await shop.view('/p', { headers: { 'accept-language': 'de' } })).timing).not.toMatch(ASSEMBLED);
  });

  it('never keeps a page that reads the visitor: it is private, and each view resolves its fragments', async () => {
    const shop = publicShop({ fragment: { src: '/a?c={cookie.currency|EUR}', vary: ['cookie.currency'] } });
    for (let i = 0; i < 3; i++) expect((await shop.view('/p', { headers: { cookie: 'currency=EUR' } })).timing).not.toMatch(ASSEMBLED);
  });

  it('forgets its assembled pages when this isolate serves a purge', async () => {
    const shop = publicShop({ env: { TESSERA_ADMIN_TOKEN: 'admin', TESSERA_VERSIONS: env.TESSERA_VERSIONS } });
    await shop.view();
    await shop.view();
    expect((await shop.view()).timing).toMatch(ASSEMBLED);
    shop.bodies.a = 'A2';
    const purge = await shop.get('/__tessera/purge', { method: 'POST', headers: { authorization: 'Bearer admin' }, body: JSON.stringify({ tags: ['shop'] }) });
    expect(purge.status).toBe(200);
    expect((await shop.view()).body).toContain('<div data-slot="a">A2</div>');
  });

  it('is not used for a debug view or a preview, which are not the page', async () => {
    const shop = publicShop({ env: { TESSERA_DEV: 'true' } });
    await shop.view();
    await shop.view();
    expect((await shop.view('/p?tessera-debug')).timing).not.toMatch(ASSEMBLED);
    expect((await shop.view('/p?tessera-fault=a:error')).body).not.toContain('A1');
  });
});
