import { describe, expect, it } from 'vitest';
import { gatewayFor, html, upstream } from './harness';

function shop() {
  const net = upstream({
    '/page': () => html('<div data-slot="recs">own recs</div><div data-slot="reviews"></div><div data-slot="header"></div>'),
    '/recs': () => html('RECS'),
    '/reviews': () => html('REVIEWS'),
    '/header': () => html('HEADER', { 'cache-control': 'max-age=60' }),
  });
  const manifest = {
    route: '/page',
    fragments: {
      recs: { src: '/recs', fallback: 'keep' as const },
      reviews: { src: '/reviews', fallback: { html: 'no reviews' } },
      header: { src: '/header', ttl: '1m' },
    },
  };
  return { net, manifest };
}

describe('fault injection', () => {
  it('forces the named fragments to fail, so their fallbacks show, under tessera dev', async () => {
    const { net, manifest } = shop();
    const response = await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })('/page?tessera-fault=recs:timeout,reviews:error');
    expect(await response.text()).toBe('<div data-slot="recs">own recs</div><div data-slot="reviews">no reviews</div><div data-slot="header">HEADER</div>');
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(response.headers.get('server-timing')).toMatch(/fragment.recs;dur=\d+;desc="fallback";cause="timeout"/);
    expect(net.requested('/recs')).toHaveLength(0);
    expect(net.requested('/page')[0].url).toBe('https://origin.test/page');
  });

  it('is a page that sends no Referer on, so the switch and any token beside it stay with the gateway', async () => {
    const { net, manifest } = shop();
    const dev = await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })('/page?tessera-fault=recs:error');
    expect(await dev.text()).toContain('own recs');
    expect(dev.headers.get('referrer-policy')).toBe('no-referrer');
    const deployed = await gatewayFor(net, manifest, { env: { TESSERA_DEBUG_TOKEN: 't0k' } })('/page?tessera-fault=recs:error&tessera-debug=t0k');
    expect(await deployed.text()).toContain('own recs');
    expect(deployed.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('serves a cached copy as stale, and reads the same from a cookie', async () => {
    const { net, manifest } = shop();
    const get = gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } });
    const warm = await get('/page');
    await warm.text();
    await warm.settled();
    const response = await get('/page', { headers: { cookie: 'tessera-fault=header:stale' } });
    expect(await response.text()).toContain('<div data-slot="header">HEADER</div>');
    expect(response.headers.get('server-timing')).toMatch(/fragment.header;dur=\d+;desc="stale";cause="error"/);
  });

  it('takes a cookie that is not valid percent-encoding as it is, and still serves the page', async () => {
    const { net, manifest } = shop();
    const response = await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })('/page', { headers: { cookie: 'tessera-fault=recs:error%' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('RECS');
  });

  it('is ignored in a deployed Worker unless the debug token comes with it', async () => {
    const { net, manifest } = shop();
    const get = gatewayFor(net, manifest, { env: { TESSERA_DEBUG_TOKEN: 't0k' } });
    expect(await (await get('/page?tessera-fault=recs:error')).text()).toContain('RECS');
    expect(await (await get('/page?tessera-fault=recs:error', { headers: { 'x-tessera-debug': 't0k' } })).text()).toContain('own recs');
  });
});
