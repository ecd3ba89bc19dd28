import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import { createGateway, type GatewayEnv } from '../../../gateway/gateway';
import { parseCookies } from '../../../gateway/lib/cookies';
import { sameSecret } from '../../../gateway/lib/same-secret';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { compile, esiPage, html, ORIGIN, upstream } from '../harness';

// The parser and the token comparison, counted where they are defined: every caller goes through these.
vi.mock('../../../gateway/lib/cookies', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../gateway/lib/cookies')>();
  return { parseCookies: vi.fn(original.parseCookies) };
});
vi.mock('../../../gateway/lib/same-secret', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../gateway/lib/same-secret')>();
  return { sameSecret: vi.fn(original.sameSecret) };
});

/** A request that counts how often its Cookie header and `request.cf` are read. */
function countedRequest(url: string, init: RequestInit) {
  const counts = { cookieHeader: 0, cf: 0 };
  const request = new Request(url, init);
  class CountingHeaders extends Headers {
    override get(name: string): string | null {
      if (name.toLowerCase() === 'cookie') counts.cookieHeader++;
      return super.get(name);
    }
  }
  const headers = new CountingHeaders(request.headers);
  const counted = new Proxy(request, {
    get(target, key) {
      if (key === 'headers') return headers;
      if (key === 'cf') {
        counts.cf++;
        return { country: 'DE', city: 'Berlin' };
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { request: counted, counts };
}

/** A page that reads the visitor every way there is: template cookies and geo in several fragments, a segment, ESI variables. */
const READS_EVERYTHING: RouteManifest = {
  route: '/page',
  segment: 'cookie.uid',
  fragments: {
    a: { src: '/a/{cookie.cur}/{geo.country}', vary: ['cookie.cur', 'geo.country'] },
    b: { src: '/b/{geo.country}?cur={cookie.cur}&s={segment|none}' },
    c: { src: '/c/{segment|none}' },
  },
};

function shop() {
  return upstream({
    '/page': () =>
      esiPage(
        '<div data-slot="a"></div><div data-slot="b"></div><div data-slot="c"></div><esi:vars>$(HTTP_COOKIE{cur}) $(GEO{country_code}) $(GEO{city}) $(HTTP_COOKIE{uid})</esi:vars>',
      ),
    '/a/EUR/DE': () => html('A'),
    '/b/DE': (_, url) => html(`B ${url.search}`),
    '/c/gold': () => html('C'),
  });
}

async function visit(manifest: RouteManifest, path: string, headers: Record<string, string>, bindings: Omit<GatewayEnv, 'ORIGIN'> = {}, net = shop()) {
  const handle = createGateway({ manifests: compile(manifest), fetch: net.fetch, cache: false });
  const { request, counts } = countedRequest(`https://shop.test${path}`, { headers });
  vi.mocked(parseCookies).mockClear();
  vi.mocked(sameSecret).mockClear();
  const ctx = createExecutionContext();
  const response = await handle(request, { ORIGIN, ...bindings }, ctx);
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  return { body, response, counts, cookieParses: vi.mocked(parseCookies).mock.calls.length, tokenChecks: vi.mocked(sameSecret).mock.calls.length };
}

describe('the request, read once', () => {
  it('parses the Cookie header once and reads request.cf once, however many fragments, variables and ESI expressions read them', async () => {
    await env.SEGMENTS.put('user:ann', 'gold');
    const segments = { get: vi.fn((key: string, options: KVNamespaceGetOptions<undefined>) => env.SEGMENTS.get(key, options)) };
    const page = await visit(READS_EVERYTHING, '/page', { cookie: 'uid=ann; cur=EUR' }, { SEGMENTS: segments as unknown as KVNamespace });
    expect(page.body).toBe('<div data-slot="a">A</div><div data-slot="b">B ?cur=EUR&s=gold</div><div data-slot="c">C</div>EUR DE Berlin ann');
    expect(page.cookieParses).toBe(1);
    expect(page.counts.cookieHeader).toBe(1);
    expect(page.counts.cf).toBe(1);
    // The segment is looked up once, and only after the origin request has gone out.
    expect(segments.get).toHaveBeenCalledTimes(1);
  });

  it('compares the debug token once for the debug view, faults and placement preview together', async () => {
    const page = await visit(
      READS_EVERYTHING,
      '/page?tessera-debug=t0k&tessera-fault=c:error&tessera-placement=in-order',
      { cookie: 'uid=ann; cur=EUR' },
      { TESSERA_DEBUG_TOKEN: 't0k' },
    );
    expect(page.tokenChecks).toBe(1);
    expect(page.body).toContain('id="tessera-debug-data"');
    expect(page.response.headers.get('cache-control')).toBe('private, no-store');
    expect(page.response.headers.get('server-timing')).toMatch(/fragment\.c;dur=\d+;desc="error"/);
    expect(page.cookieParses).toBe(1);
  });

  it('turns every switch off after one comparison when the token is wrong', async () => {
    const page = await visit(
      READS_EVERYTHING,
      '/page?tessera-debug=guess&tessera-fault=c:error&tessera-placement=in-order',
      { cookie: 'uid=ann; cur=EUR' },
      { TESSERA_DEBUG_TOKEN: 't0k' },
    );
    expect(page.tokenChecks).toBe(1);
    expect(page.body).not.toContain('tessera-debug-data');
    expect(page.response.headers.get('cache-control')).not.toContain('no-store');
    expect(page.response.headers.get('server-timing')).not.toMatch(/fragment\.c;[^,]*desc="error"/);
  });

  it('reads a fault cookie from the same parse the templates read', async () => {
    const page = await visit(READS_EVERYTHING, '/page', { cookie: 'uid=ann; cur=EUR; tessera-fault=a:error' }, { TESSERA_DEV: 'true' });
    expect(page.body).toMatch(/^<div data-slot="a"><\/div><div data-slot="b">B/);
    expect(page.cookieParses).toBe(1);
    expect(page.counts.cookieHeader).toBe(1);
  });

  it('reads neither cookies nor geo nor the token when nothing on the page asks for them', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="a"></div>'), '/a/EUR/DE': () => html('A') });
    const manifest = { route: '/page', fragments: { a: { src: '/a/EUR/DE' } } };
    const page = await visit(manifest, '/page', { cookie: 'uid=ann; cur=EUR' }, { TESSERA_DEBUG_TOKEN: 't0k' }, net);
    expect(page.body).toContain('<div data-slot="a">A</div>');
    expect([page.cookieParses, page.counts.cf, page.tokenChecks]).toEqual([0, 0, 0]);
  });
});
