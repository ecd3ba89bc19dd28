import { describe, expect, it } from 'vitest';
import type { CompiledRoute } from '../../../gateway/contract/types';
import { madePrivate, pageCacheHeaders } from '../../../gateway/http/page-cache-control';
import { assembledPageHeaders } from '../../../gateway/http/page-headers';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { compile, gatewayFor, html, upstream } from '../harness';

/** ESI variables that only read the URL, which every cache keys on already. */
const URL_ONLY: Array<'QUERY_STRING' | 'HTTP_HOST'> = ['QUERY_STRING', 'HTTP_HOST'];

const route = (manifest: Partial<RouteManifest>) => compile({ route: '/page', ...manifest }).routes[0];
const originHeaders = (cacheControl: string | null, vary?: string) =>
  new Headers({ ...(cacheControl === null ? {} : { 'cache-control': cacheControl }), ...(vary ? { vary } : {}) });
const pageCacheControl = (cacheControl: string | null, compiled: CompiledRoute, esi: boolean) =>
  pageCacheHeaders(originHeaders(cacheControl), compiled, esi).cacheControl;

describe('Cache-Control of an assembled page', () => {
  const shared = { a: { src: '/a', ttl: '5m' }, b: { src: '/b', ttl: '60s' } };

  it('is as fresh as its least fresh fragment', () => {
    expect(pageCacheControl('public, max-age=600', route({ fragments: shared }), false)).toBe('public, max-age=60');
    expect(pageCacheControl('public, max-age=30', route({ fragments: shared }), false)).toBe('public, max-age=30');
  });

  it('becomes private when a fragment sees the visitor’s cookies or credentials', () => {
    const perUser = { ...shared, cart: { src: '/cart', ttl: '1h', forwardHeaders: ['Cookie'], vary: ['cookie.sid'] } };
    expect(pageCacheControl('public, max-age=600, s-maxage=900', route({ fragments: perUser }), false)).toBe('max-age=60, private');
    const byTemplate = { ...shared, price: { src: '/p?c={cookie.currency|EUR}', ttl: '1h' } };
    expect(pageCacheControl('public, max-age=600', route({ fragments: byTemplate }), false)).toBe('max-age=60, private');
  });

  it('is not stored fresh when a fragment is never cached', () => {
    expect(pageCacheControl('public, max-age=600', route({ fragments: { ...shared, live: { src: '/live', ttl: 0 } } }), false)).toBe('no-cache');
    expect(pageCacheControl(null, route({ fragments: { live: { src: '/live', forwardHeaders: ['authorization'] } } }), false)).toBe('private, no-cache');
    // Undeclared includes get the defaults (ttl 0 unless set).
    expect(pageCacheControl('max-age=600', route({ esiVariables: URL_ONLY }), true)).toBe('no-cache');
    expect(pageCacheControl('max-age=600', route({ defaults: { ttl: '2m' }, esiVariables: URL_ONLY }), true)).toBe('max-age=120');
  });

  it('keeps a field list whole, and reads a header caches would read differently at its strictest', () => {
    expect(pageCacheControl('public, no-cache="Set-Cookie, X-Id", max-age=600', route({ fragments: shared }), false)).toBe(
      'public, no-cache="Set-Cookie, X-Id", max-age=60',
    );
    expect(pageCacheControl('max-age="600"', route({ fragments: shared }), false)).toBe('private, no-cache');
    expect(pageCacheControl('public, max-age=86400, x="no-store', route({ fragments: shared }), false)).toBe('no-store, private');
  });

  it('sends no-store alone beside what made it private, whatever else the origin said', () => {
    const perUser = { ...shared, cart: { src: '/cart', ttl: '1h', forwardHeaders: ['Cookie'], vary: ['cookie.sid'] } };
    expect(pageCacheControl('public, s-maxage=86400, no-store, must-understand', route({ fragments: perUser }), false)).toBe('no-store, private');
    expect(pageCacheControl('public, s-maxage=86400, no-store', route({ fragments: shared }), false)).toBe('no-store');
  });

  it('caps the freshness an Expires grants with no max-age, counted from the origin’s own Date', () => {
    const expires = (ms: number) => new Headers({ 'cache-control': 'public', expires: new Date(Date.now() + ms).toUTCString() });
    expect(pageCacheHeaders(expires(86_400_000), route({ fragments: shared }), false).cacheControl).toBe('public, max-age=60');
    expect(pageCacheHeaders(expires(-60_000), route({ fragments: shared }), false).cacheControl).toBe('public, max-age=0');
    // The origin's clock runs 5 minutes fast: its Expires is 30 s after its Date, whatever the gateway's clock says.
    const skewed = new Headers({ 'cache-control': 'public', date: 'Thu, 03 Dec 2026 12:05:00 GMT', expires: 'Thu, 03 Dec 2026 12:05:30 GMT' });
    expect(pageCacheHeaders(skewed, route({ fragments: { a: { src: '/a', ttl: '5m' } } }), false).cacheControl).toBe('public, max-age=30');
    // Not an HTTP-date, or not a real day: already expired.
    for (const expires of ['2099', 'Mon, 31 Feb 2099 00:00:00 GMT', 'Fri, 01 Jan 0049 00:00:00 GMT', 'Thu, 03 Dec 2099 24:00:00 GMT']) {
      expect(pageCacheHeaders(new Headers({ 'cache-control': 'public', expires }), route({ fragments: shared }), false).cacheControl).toBe('public, max-age=0');
    }
    // The two obsolete forms are HTTP-dates too.
    for (const expires of ['Thursday, 03-Dec-26 12:05:30 GMT', 'Thu Dec  3 12:05:30 2026']) {
      const dated = new Headers({ 'cache-control': 'public', date: 'Thu, 03 Dec 2026 12:05:00 GMT', expires });
      expect(pageCacheHeaders(dated, route({ fragments: { a: { src: '/a', ttl: '5m' } } }), false).cacheControl).toBe('public, max-age=30');
    }
  });

  it('keeps Pragma: no-cache in force when it adds a Cache-Control of its own', () => {
    const pragma = new Headers({ pragma: 'no-cache', expires: new Date(Date.now() + 86_400_000).toUTCString() });
    expect(pageCacheHeaders(pragma, route({ fragments: shared }), false).cacheControl).toBe('no-cache, max-age=60');
  });

  it('serves it stale downstream no longer than a fragment may be served stale, and never when a fragment is never cached', () => {
    const windows = { a: { src: '/a', ttl: '5m', staleWhileRevalidate: '30s', staleIfError: '1h' }, b: { src: '/b', ttl: '60s', staleIfError: '10m' } };
    const origin = 'public, max-age=600, stale-while-revalidate=86400, stale-if-error=86400';
    expect(pageCacheControl(origin, route({ fragments: windows }), false)).toBe('public, max-age=60, stale-if-error=600');
    expect(pageCacheControl(origin, route({ fragments: { ...windows, live: { src: '/live', ttl: 0 } } }), false)).toBe('no-cache');
  });

  it('gives the headers addressed to one kind of cache the same treatment, or drops them', () => {
    const perUser = route({ fragments: { ...shared, cart: { src: '/cart', ttl: '1h', forwardHeaders: ['Cookie'], vary: ['cookie.sid'] } } });
    const origin = (extra: Record<string, string>) => new Headers({ 'content-type': 'text/html', 'cache-control': 'public, max-age=600', ...extra });
    const sent = assembledPageHeaders(
      origin({
        'cdn-cache-control': 'max-age=86400',
        'cloudflare-cdn-cache-control': 'public, s-maxage=86400',
        'surrogate-control': 'max-age=86400',
        'x-accel-expires': '86400',
      }),
      perUser,
      false,
    );
    expect(sent.get('cdn-cache-control')).toBe('max-age=60, private');
    expect(sent.get('cloudflare-cdn-cache-control')).toBe('private');
    expect(sent.get('surrogate-control')).toBeNull();
    expect(sent.get('x-accel-expires')).toBeNull();
    const refused = assembledPageHeaders(origin({ 'surrogate-control': 'no-store', 'x-accel-expires': '0' }), perUser, false);
    expect([refused.get('surrogate-control'), refused.get('x-accel-expires')]).toEqual(['no-store', '0']);
  });

  it('leaves extension directives out, and reads one named like a known directive at its strictest', () => {
    expect(pageCacheControl('public, max-age=600, x-ext=token', route({ fragments: shared }), false)).toBe('public, max-age=60');
    expect(pageCacheControl('public, max-age=600, x-s-maxage=86400', route({ fragments: shared }), false)).toBe('private, no-cache');
  });

  it('makes a page private after the fact with nothing a shared cache acts on', () => {
    expect(madePrivate(null)).toBe('private');
    expect(madePrivate('public, no-cache="Set-Cookie", s-maxage=60, max-age=60')).toBe('no-cache="Set-Cookie", max-age=60, private');
  });

  it('never loosens the origin: no-store stays, and no freshness is invented', () => {
    expect(pageCacheControl('no-store', route({ fragments: shared }), false)).toBe('no-store');
    expect(pageCacheControl(null, route({ fragments: shared }), false)).toBeNull();
    expect(pageCacheControl('public, max-age=600', route({}), false)).toBe('public, max-age=600');
  });

  it('is applied to the response', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="a"></div>', { 'cache-control': 'public, max-age=600' }), '/a': () => html('A') });
    const response = await gatewayFor(net, { route: '/page', fragments: { a: { src: '/a', ttl: '30s' } } })('/page');
    expect(response.headers.get('cache-control')).toBe('public, max-age=30');
    await response.text();
  });
});

describe('a page that varies per visitor is never publicly cacheable', () => {
  const publicPage = 'public, max-age=600';
  const fresh = (fragment: Record<string, unknown>) => route({ fragments: { f: { src: '/f', ttl: '10m', ...fragment } as never } });

  it.each([
    ['a {header.authorization} in a src', { src: '/f?t={header.authorization}' }, 'authorization'],
    ['a {cookie.*} in a fallback src', { fallback: { src: '/fb?sid={cookie.sid}' } }, 'cookie'],
    ['a forwarded x-api-key', { forwardHeaders: ['x-api-key'], vary: ['header.x-api-key'] }, 'x-api-key'],
    ['a forwarded cookie', { forwardHeaders: ['cookie'], vary: ['cookie.sid'] }, 'cookie'],
    ['a {header.*} that identifies the visitor', { src: '/f?u={header.x-user-id}' }, 'x-user-id'],
  ])('%s makes the page private and varies on it', (_, fragment, header) => {
    const headers = pageCacheHeaders(originHeaders(publicPage), fresh(fragment), false);
    expect(headers.cacheControl).toBe('max-age=600, private');
    expect(headers.vary).toBe(header);
  });

  it('a {geo.country} makes the page private: no request header carries it to a shared cache', () => {
    expect(pageCacheHeaders(originHeaders(publicPage), fresh({ src: '/f?c={geo.country}' }), false)).toEqual({
      cacheControl: 'max-age=600, private',
      vary: null,
    });
  });

  it('content negotiation stays shareable, covered by Vary', () => {
    expect(pageCacheHeaders(originHeaders(publicPage, 'Accept-Encoding'), fresh({ src: '/f?l={header.accept-language}' }), false)).toEqual({
      cacheControl: 'public, max-age=600',
      vary: 'Accept-Encoding, accept-language',
    });
    expect(pageCacheHeaders(originHeaders(publicPage), fresh({ forwardHeaders: ['Accept-Language', 'sec-ch-ua-mobile'] }), false).vary).toBe(
      'accept-language, sec-ch-ua-mobile',
    );
  });

  it('inputs the fragment declares in vary count too', () => {
    expect(pageCacheHeaders(originHeaders(publicPage), fresh({ vary: ['cookie.segment'] }), false).cacheControl).toBe('max-age=600, private');
  });

  it('query values and route parameters are part of the URL and change nothing', () => {
    expect(pageCacheHeaders(originHeaders(publicPage), fresh({ src: '/f?q={query.q}' }), false)).toEqual({ cacheControl: publicPage, vary: null });
  });

  it('undeclared includes count with the defaults when the route processes ESI', () => {
    // Undeclared includes cannot vary, so a cached default may only forward negotiation headers.
    const esiRoute = route({ defaults: { ttl: '10m', forwardHeaders: ['accept-language'] }, esiVariables: URL_ONLY });
    expect(pageCacheHeaders(originHeaders(publicPage), esiRoute, true)).toEqual({ cacheControl: publicPage, vary: 'accept-language' });
    expect(pageCacheHeaders(originHeaders(publicPage), esiRoute, false)).toEqual({ cacheControl: publicPage, vary: null });
    const credentialed = route({ defaults: { ttl: 0, forwardHeaders: ['x-api-key'] } });
    expect(pageCacheHeaders(originHeaders(publicPage), credentialed, true).cacheControl).toBe('private, no-cache');
  });

  it('makes an ESI page private, varying on what its variables read, unless the route lets it read only the URL', () => {
    const everything = route({ defaults: { ttl: '10m' } });
    expect(pageCacheHeaders(originHeaders(publicPage), everything, true)).toEqual({
      cacheControl: 'max-age=600, private',
      vary: 'cookie, referer, user-agent, accept-language',
    });
    const agentOnly = route({ defaults: { ttl: '10m' }, esiVariables: ['HTTP_USER_AGENT', 'QUERY_STRING'] });
    expect(pageCacheHeaders(originHeaders(publicPage), agentOnly, true)).toEqual({ cacheControl: publicPage, vary: 'user-agent' });
  });

  it('keeps an origin Vary of * as it is', () => {
    expect(pageCacheHeaders(originHeaders(publicPage, '*'), fresh({ forwardHeaders: ['cookie'], vary: ['cookie.sid'] }), false).vary).toBe('*');
  });

  it('is applied to GET and HEAD alike', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="f"></div>', { 'cache-control': publicPage }), '/f': () => html('F') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f?t={header.authorization}', ttl: '10m' } } });
    for (const method of ['GET', 'HEAD']) {
      const response = await get('/page', { method, headers: { authorization: 'Bearer t' } });
      expect([method, response.headers.get('cache-control'), response.headers.get('vary')]).toEqual([method, 'max-age=600, private', 'authorization']);
      await response.arrayBuffer();
    }
  });
});

describe('origin request of an assembled page', () => {
  it('asks for the whole page: no conditional or range headers, whatever the client sent', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="a"></div>', { etag: 'W/"1"' }), '/a': () => html('A') });
    const response = await gatewayFor(net, { route: '/page', fragments: { a: { src: '/a' } } })('/page', {
      headers: { 'if-none-match': 'W/"1"', 'if-modified-since': 'Sun, 22 Nov 2026 10:00:00 GMT', range: 'bytes=0-10' },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('<div data-slot="a">A</div>');
    const sent = net.calls[0].headers;
    expect([sent.get('if-none-match'), sent.get('if-modified-since'), sent.get('range')]).toEqual([null, null, null]);
  });

  it('sets X-Forwarded-Proto itself, and X-Forwarded-Host only from configuration, never from the client', async () => {
    const net = upstream({ '/page': () => html('<p></p>'), '/other': () => html('o') });
    const headers = { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'http', host: 'evil.test' };
    for (const path of ['/page', '/other']) {
      await (await gatewayFor(net, { route: '/page' })(path, { headers })).text();
      await (await gatewayFor(net, { route: '/page' }, { env: { PUBLIC_HOST: 'shop.example.com' } })(path, { headers })).text();
    }
    expect(net.calls.map((c) => [new URL(c.url).pathname, c.headers.get('x-forwarded-host'), c.headers.get('x-forwarded-proto')])).toEqual([
      ['/page', null, 'https'],
      ['/page', 'shop.example.com', 'https'],
      ['/other', null, 'https'],
      ['/other', 'shop.example.com', 'https'],
    ]);
  });
});
