import { describe, expect, it } from 'vitest';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { delay, gatewayFor, html, upstream } from '../harness';

/** A clock the test moves: TTLs are checked without waiting for them. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** A page with two slots and an include, each fragment's body set by the test. */
function shop(fragmentTtl = '1m', extra: Partial<RouteManifest> = {}) {
  const bodies: Record<string, string> = { a: 'A1', b: 'B1', c: 'C1' };
  let page = '<main><div data-slot="a">own a</div> <esi:include src="/c"/> <p data-slot="b"></p></main>';
  let fragmentFetches = 0;
  const fragment = (id: string) => {
    fragmentFetches++;
    return html(bodies[id]);
  };
  const net = upstream({
    '/p': () => html(page, { 'surrogate-control': 'content="ESI/1.0"' }),
    '/a': () => fragment('a'),
    '/b': () => fragment('b'),
    '/c': () => fragment('c'),
  });
  const time = clock();
  const manifest = {
    route: '/p',
    page: { ttl: '1h' },
    fragments: { a: { src: '/a', ttl: fragmentTtl }, b: { src: '/b', ttl: fragmentTtl }, c: { src: '/c', ttl: fragmentTtl } },
    ...extra,
  } as RouteManifest;
  const get = gatewayFor(net, manifest, { cache: { now: time.now } });
  const view = async (headers: Record<string, string> = {}, path = '/p') => {
    const response = await get(path, { headers });
    const body = await response.text();
    await response.settled();
    return { status: response.status, body, etag: response.headers.get('etag'), headers: response.headers };
  };
  return {
    view,
    time,
    net,
    bodies,
    setPage: (next: string) => (page = next),
    get fragmentFetches() {
      return fragmentFetches;
    },
  };
}

describe('page validators', () => {
  it('answers the reload of a cached page with a 304 and no body, asking neither the origin nor a fragment host', async () => {
    const site = shop();
    await site.view(); // miss: the page and its fragments are stored
    const first = await site.view();
    expect(first.etag).toMatch(/^W\/"[0-9a-f]{32}"$/);
    const origin = site.net.requested('/p').length;
    const fetches = site.fragmentFetches;
    const reload = await site.view({ 'if-none-match': first.etag ?? '' });
    expect(reload.status).toBe(304);
    expect(reload.body).toBe('');
    expect(reload.etag).toBe(first.etag);
    expect(reload.headers.get('server-timing')).toMatch(/conditional;desc="not-modified"/);
    expect([site.net.requested('/p').length, site.fragmentFetches]).toEqual([origin, fetches]);
  });

  it('answers 200 with the new body once one fragment changed upstream', async () => {
    const site = shop();
    await site.view();
    const before = await site.view();
    site.bodies.b = 'B2';
    site.time.advance(70_000); // past the fragments' ttl (1m, jittered by up to 10%), not the page's
    const after = await site.view({ 'if-none-match': before.etag ?? '' });
    expect(after.status).toBe(200);
    expect(after.body).toContain('<p data-slot="b">B2</p>');
    expect(after.etag).not.toBe(before.etag);
  });

  it('gives no ETag to a page with a part still in flight, unless a conditional request may wait for it', async () => {
    const net = upstream({ '/p': () => html('<main><div data-slot="slow">…</div></main>'), '/slow': () => delay(50).then(() => html('S')) });
    const manifest = { route: '/p', page: { ttl: '1h' }, conditional: '2s', fragments: { slow: { src: '/slow', ttl: '0s' } } } as RouteManifest;
    const get = gatewayFor(net, manifest);
    const view = async (headers: Record<string, string> = {}) => {
      const response = await get('/p', { headers });
      const body = await response.text();
      await response.settled();
      return { status: response.status, body, etag: response.headers.get('etag') };
    };
    await view();
    expect((await view()).etag).toBeNull();
    const waited = await view({ 'if-none-match': '"something else"' });
    expect(waited).toMatchObject({ status: 200, body: '<main><div data-slot="slow">S</div></main>', etag: expect.stringMatching(/^W\//) });
    expect((await view({ 'if-none-match': waited.etag ?? '' })).status).toBe(304);
  });

  it('gives each visitor variant its own ETag, and keeps the page private with its Vary', async () => {
    const net = upstream({
      '/p': () => html('<main><div data-slot="price">…</div></main>'),
      '/price': (request) => html(`price in ${new URL(request.url).searchParams.get('cur')}`),
    });
    const manifest = {
      route: '/p',
      page: { ttl: '1h' },
      fragments: { price: { src: '/price?cur={cookie.currency|EUR}', ttl: '1m', vary: ['cookie.currency'] } },
    } as RouteManifest;
    const get = gatewayFor(net, manifest);
    const view = async (currency: string, etag?: string) => {
      const response = await get('/p', { headers: { cookie: `currency=${currency}`, ...(etag ? { 'if-none-match': etag } : {}) } });
      await response.text();
      await response.settled();
      return response;
    };
    await view('EUR');
    await view('GBP');
    const eur = await view('EUR');
    const gbp = await view('GBP');
    expect(eur.headers.get('etag')).not.toBe(gbp.headers.get('etag'));
    expect((await view('GBP', eur.headers.get('etag') ?? '')).status).toBe(200);
    expect((await view('EUR', eur.headers.get('etag') ?? '')).status).toBe(304);
  });

  it('gives no ETag to a debug view or a preview', async () => {
    const net = upstream({ '/p': () => html('<main><div data-slot="a">own</div></main>'), '/a': () => html('A') });
    const manifest = { route: '/p', page: { ttl: '1h' }, fragments: { a: { src: '/a', ttl: '1m' } } } as RouteManifest;
    const get = gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } });
    const etag = async (path: string) => {
      const response = await get(path);
      await response.text();
      await response.settled();
      return response.headers.get('etag');
    };
    await etag('/p');
    expect(await etag('/p')).not.toBeNull();
    expect(await etag('/p?tessera-debug')).toBeNull();
    expect(await etag('/p?tessera-fault=a:error')).toBeNull();
  });

  it('never sends a 304 when the body would differ, and always when nothing changed (random changes)', async () => {
    // A fixed seed: the sequence is the same on every run.
    let seed = 20261203;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const site = shop('0s');
    let page = '<main><div data-slot="a">own a</div> <esi:include src="/c"/> <p data-slot="b"></p></main>';
    site.setPage(page);
    await site.view();
    let last = await site.view();
    for (let round = 0; round < 40; round++) {
      const change = Math.floor(random() * 5);
      if (change === 1) site.bodies.a = `A-r${round}`;
      if (change === 2) site.bodies.b = `B-r${round}`;
      if (change === 3) site.bodies.c = `C-r${round}`;
      if (change === 4) {
        page = page.replace('</main>', ` r${round}</main>`);
        site.setPage(page);
        site.time.advance(2 * 60 * 60_000); // past the page's ttl
      }
      const conditional = await site.view({ 'if-none-match': last.etag ?? '' });
      const full = await site.view();
      if (change === 0) expect(conditional.status, `round ${round}: nothing changed`).toBe(304);
      else {
        expect(conditional.status, `round ${round}: change ${change}`).toBe(200);
        expect(full.body).not.toBe(last.body);
      }
      if (conditional.status === 304) expect(full.body).toBe(last.body);
      last = full;
    }
  });
});
