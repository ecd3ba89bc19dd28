import { describe, expect, it } from 'vitest';
import { pageCacheControl } from '../../gateway/page-cache-control';
import type { RouteManifest } from '../../gateway/manifest/schema';
import { compile, gatewayFor, html, upstream } from './harness';

const route = (manifest: Partial<RouteManifest>) => compile({ route: '/page', ...manifest }).routes[0];

describe('Cache-Control of an assembled page', () => {
  const shared = { a: { src: '/a', ttl: '5m' }, b: { src: '/b', ttl: '60s' } };

  it('is as fresh as its least fresh fragment', () => {
    expect(pageCacheControl('public, max-age=600', route({ fragments: shared }), false)).toBe('public, max-age=60');
    expect(pageCacheControl('public, max-age=30', route({ fragments: shared }), false)).toBe('public, max-age=30');
  });

  it('becomes private when a fragment sees the visitor’s cookies or credentials', () => {
    const perUser = { ...shared, cart: { src: '/cart', ttl: '1h', forwardHeaders: ['Cookie'] } };
    expect(pageCacheControl('public, max-age=600, s-maxage=900', route({ fragments: perUser }), false)).toBe('max-age=60, private');
    const byTemplate = { ...shared, price: { src: '/p?c={cookie.currency|EUR}', ttl: '1h' } };
    expect(pageCacheControl('public, max-age=600', route({ fragments: byTemplate }), false)).toBe('max-age=60, private');
  });

  it('is not stored fresh when a fragment is never cached', () => {
    expect(pageCacheControl('public, max-age=600', route({ fragments: { ...shared, live: { src: '/live', ttl: 0 } } }), false)).toBe('no-cache');
    expect(pageCacheControl(null, route({ fragments: { live: { src: '/live', forwardHeaders: ['authorization'] } } }), false)).toBe('private, no-cache');
    // Undeclared includes get the defaults (ttl 0 unless set).
    expect(pageCacheControl('max-age=600', route({}), true)).toBe('no-cache');
    expect(pageCacheControl('max-age=600', route({ defaults: { ttl: '2m' } }), true)).toBe('max-age=120');
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

  it('sets X-Forwarded-Host and -Proto itself instead of trusting the client', async () => {
    const net = upstream({ '/page': () => html('<p></p>') });
    await (await gatewayFor(net, { route: '/page' })('/page', { headers: { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'http' } })).text();
    expect(net.calls[0].headers.get('x-forwarded-host')).toBe('shop.test');
    expect(net.calls[0].headers.get('x-forwarded-proto')).toBe('https');
  });
});
