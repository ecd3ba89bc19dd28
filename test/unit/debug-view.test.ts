import { afterEach, describe, expect, it, vi } from 'vitest';
import { allowDebugScript } from '../../gateway/debug/debug-csp';
import type { RouteManifest } from '../../gateway/manifest/schema';
import { esiPage, gatewayFor, html, upstream } from './harness';

function shop(headers: Record<string, string> = {}) {
  const net = upstream({
    '/page': () => html('<main><div data-slot="price">€1</div><div data-slot="stock">ask</div></main>', headers),
    '/price': () => html('<b>€2</b>'),
    '/stock': () => html('down', {}, 503),
  });
  const manifest = { route: '/page', fragments: { price: { src: '/price' }, stock: { src: '/stock', fallback: 'keep' as const } } };
  return { net, manifest };
}

const debugData = (body: string) => JSON.parse(/<script type="application\/json" id="tessera-debug-data">(.*?)<\/script>/s.exec(body)?.[1] ?? 'null');

describe('the debug view', () => {
  it('is on under tessera dev with no token: fragments wrapped where they sit, the data at the end, never cached', async () => {
    const { net, manifest } = shop({ 'cache-control': 'public, max-age=600' });
    const response = await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })('/page?tessera-debug');
    const body = await response.text();
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(body).toContain('<div data-slot="price"><!--tessera:id%3Aprice--><b>€2</b><!--/tessera--></div>');
    expect(body).toContain('<div data-slot="stock"><!--tessera:id%3Astock-->ask<!--/tessera--></div>');
    const data = debugData(body);
    expect(data.fragments.map((f: { fragment: string; label: string }) => [f.fragment, f.label])).toEqual([
      ['price', 'src'],
      ['stock', 'keep (error)'],
    ]);
    expect(data.route.name).toBe('route0');
    expect(data.traceId).toMatch(/^[0-9a-f]{32}$/);
    // The switch is the gateway's: the origin never sees it.
    expect(net.requested('/page')[0].url).toBe('https://origin.test/page');
  });

  it('tells per fragment what was asked where and what came back: URL and status, bytes placed, cache, placement', async () => {
    const net = upstream({
      '/page': () => html('<div data-slot="price">€1</div><div data-slot="stock">ask</div><div data-slot="recs"></div>'),
      '/price': () => html('<b>€2</b>', { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }),
      '/stock': () => html('down', {}, 503),
      '/recs': () => html('recs'),
    });
    const manifest = {
      route: '/page',
      fragments: {
        price: { src: '/price', ttl: '1m' },
        stock: { src: '/stock', fallback: 'keep' as const },
        recs: { src: '/recs', placement: 'out-of-order' as const, placeholder: '…' },
      },
    };
    const body = await (await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })('/page?tessera-debug')).text();
    const byId = Object.fromEntries(debugData(body).fragments.map((f: { fragment: string }) => [f.fragment, f]));
    expect(byId.price).toMatchObject({
      requests: [{ url: 'https://origin.test/price', status: 200 }],
      bytes: 11,
      ttlMs: 60_000,
      notStored: expect.stringContaining('cookie'),
      placement: 'in-order',
      placeholder: false,
    });
    expect(byId.stock).toMatchObject({ requests: [{ url: 'https://origin.test/stock', status: 503 }], ttlMs: 0, label: 'keep (error)' });
    expect(byId.stock.bytes).toBeUndefined();
    expect(byId.recs).toMatchObject({ placement: 'out-of-order', placeholder: true, bytes: 4 });
    expect(debugData(body).notes).toEqual([]);
  });

  it('is ignored in a deployed Worker without the token, and the switch still never reaches the origin', async () => {
    const { net, manifest } = shop();
    const get = gatewayFor(net, manifest);
    const body = await (await get('/page?tessera-debug&x=1', { headers: { 'x-tessera-debug': '1' } })).text();
    expect(body).not.toContain('tessera-debug-data');
    expect(body).not.toContain('<!--tessera:');
    expect(net.requested('/page')[0].url).toBe('https://origin.test/page?x=1');
    expect(net.requested('/page')[0].headers.get('x-tessera-debug')).toBeNull();
  });

  it('is on in a deployed Worker only with the right token', async () => {
    const { net, manifest } = shop();
    const get = gatewayFor(net, manifest, { env: { TESSERA_DEBUG_TOKEN: 's3cret' } });
    expect(await (await get('/page?tessera-debug=wrong')).text()).not.toContain('tessera-debug-data');
    expect(await (await get('/page', { headers: { 'x-tessera-debug': 's3cret' } })).text()).toContain('tessera-debug-data');
    expect(await (await get('/page?tessera-debug=s3cret')).text()).toContain('tessera-debug-data');
  });

  it('runs under a strict CSP: its script carries a nonce the policy now lists', async () => {
    const { net, manifest } = shop({ 'content-security-policy': "default-src 'self'; script-src 'nonce-page123' 'strict-dynamic'" });
    const response = await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })('/page?tessera-debug');
    const body = await response.text();
    const nonce = /<script nonce="([0-9a-f]+)">/.exec(body)?.[1];
    expect(nonce).toBeDefined();
    expect(response.headers.get('content-security-policy')).toBe(`default-src 'self'; script-src 'nonce-page123' 'strict-dynamic' 'nonce-${nonce}'`);
  });
});

describe('the debug token', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is left out of the logged page line, with every other switch, while the rest of the query stays', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const { net, manifest } = shop();
    const get = gatewayFor(net, manifest, { env: { TESSERA_DEBUG_TOKEN: 's3cret', TESSERA_LOG: 'timing' } });
    const response = await get('/page?a=1&tessera-debug=s3cret&tessera%2Dfault=price:error&b=%7E+2&tessera-placement=in-order');
    expect(await response.text()).toContain('tessera-debug-data');
    await response.settled();
    const line = lines.find((l) => l.startsWith('tessera: /page'));
    expect(line).toMatch(/^tessera: \/page\?a=1&b=%7E\+2 \d+ms \| /);
    expect(lines.join('\n')).not.toContain('s3cret');
  });

  it('never reaches a fragment host through the query a src or an ESI variable reads', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/esi?$(QUERY_STRING)"/><div data-slot="q">own</div>'),
      '/esi': () => html('esi'),
      '/q': () => html('q'),
    });
    const manifest = { route: '/page', esi: 'on', esiVariables: ['QUERY_STRING'], fragments: { q: { src: '/q?x={query.x}&t={query.tessera-debug|none}' } } };
    const get = gatewayFor(net, manifest as RouteManifest, { env: { TESSERA_DEBUG_TOKEN: 's3cret' } });
    const response = await get('/page?x=1&tessera-debug=s3cret');
    const body = await response.text();
    expect(net.calls.map((call) => call.url).join(' ')).not.toContain('s3cret');
    expect(net.requested('/esi').map((call) => new URL(call.url).search)).toEqual(['?x%3D1']);
    expect(body).not.toContain('s3cret');
  });

  it('is not in the debug view it opens, neither in its markup nor in its data', async () => {
    const { net, manifest } = shop();
    const response = await gatewayFor(net, manifest, { env: { TESSERA_DEBUG_TOKEN: 's3cret' } })('/page?tessera-debug=s3cret&x=1');
    const body = await response.text();
    expect(body).toContain('tessera-debug-data');
    expect(body).not.toContain('s3cret');
  });

  it('is not sent on as a Referer: every answer to a URL carrying a switch says no-referrer', async () => {
    const net = upstream({
      '/page': () => html('<div data-slot="price">€1</div>', { 'referrer-policy': 'unsafe-url' }),
      '/price': () => html('<b>€2</b>'),
      '/gone': () => html('gone', {}, 404),
    });
    const get = gatewayFor(net, { routes: ['/page', '/gone'], fragments: { price: { src: '/price' } } }, { env: { TESSERA_DEBUG_TOKEN: 's3cret' } });
    for (const path of [
      '/page?tessera-debug=s3cret',
      '/page?tessera-debug=s3cret&tessera-placement=out-of-order',
      '/gone?tessera-debug=s3cret',
      '/elsewhere?tessera-debug=s3cret',
    ]) {
      const response = await get(path);
      await response.text();
      expect([path, response.headers.get('referrer-policy')]).toEqual([path, 'no-referrer']);
    }
    const plain = await get('/page');
    expect(plain.headers.get('referrer-policy')).toBe('unsafe-url');
  });

  it('marks the placement preview no-referrer under tessera dev too', async () => {
    const { net, manifest } = shop();
    const response = await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })('/page?tessera-placement=out-of-order');
    expect(await response.text()).toContain('€2');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('private, no-store');
  });
});

describe("the debug view's CSP change", () => {
  it('leaves a policy alone that allows inline scripts or says nothing about scripts', () => {
    expect(allowDebugScript("script-src 'self' 'unsafe-inline'", 'n')).toBe("script-src 'self' 'unsafe-inline'");
    expect(allowDebugScript("img-src 'self'", 'n')).toBe("img-src 'self'");
    expect(allowDebugScript(null, 'n')).toBeNull();
  });

  it('adds the nonce where scripts are limited, falling back from default-src', () => {
    expect(allowDebugScript("default-src 'self'", 'n')).toBe("default-src 'self'; script-src 'self' 'nonce-n'");
    expect(allowDebugScript("script-src 'sha256-abc' 'unsafe-inline'; script-src-elem 'self'", 'n')).toBe(
      "script-src 'sha256-abc' 'unsafe-inline' 'nonce-n'; script-src-elem 'self' 'nonce-n'",
    );
  });
});
