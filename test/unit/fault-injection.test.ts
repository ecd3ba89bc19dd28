import { afterEach, describe, expect, it, vi } from 'vitest';
import { faultNotes } from '../../gateway/request/fault-injection';
import { gatewayFor, html, upstream } from './harness';

const debugData = (body: string) => JSON.parse(/<script type="application\/json" id="tessera-debug-data">(.*?)<\/script>/s.exec(body)?.[1] ?? 'null');

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

describe('a fault switch that names nothing', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The page under tessera dev with the debug view, and the dev log's error lines. */
  async function open(path: string, init?: RequestInit) {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.map(String).join(' ')));
    const { net, manifest } = shop();
    const response = await gatewayFor(net, manifest, { env: { TESSERA_DEV: 'true' } })(path, init);
    const body = await response.text();
    await response.settled();
    return { body, errors: errors.filter((line) => line.includes('tessera-fault')), notes: debugData(body)?.notes };
  }

  it('says so for a fragment the route does not declare: one dev log line per request, and a note in the debug panel', async () => {
    const { body, errors, notes } = await open('/page?tessera-debug&tessera-fault=rec:timeout');
    const note = 'tessera-fault "rec:timeout": no fragment "rec" on this route (did you mean "recs"?)';
    expect(errors).toEqual([`tessera: /page: ${note}`]);
    expect(notes).toEqual([note]);
    // Nothing was forced: the fragment is fetched as usual.
    expect(body).toContain('RECS');
  });

  it('says so for a fault that does not exist, from the cookie too, and lists the ones that do', async () => {
    const { errors, notes } = await open('/page?tessera-debug', { headers: { cookie: 'tessera-fault=recs:nonsense,reviews:timout' } });
    const expected = [
      'tessera-fault "recs:nonsense": no fault "nonsense" (timeout, error, refused or stale)',
      'tessera-fault "reviews:timout": no fault "timout" (did you mean "timeout"?)',
    ];
    expect(errors).toEqual([`tessera: /page: ${expected.join('; ')}`]);
    expect(notes).toEqual(expected);
  });

  it('says nothing when every part applies, and without the debug view still writes the dev log line', async () => {
    const quiet = await open('/page?tessera-debug&tessera-fault=recs:timeout,/fragments/x:error');
    expect(quiet.errors).toEqual([]);
    expect(quiet.notes).toEqual([]);
    const plain = await open('/page?tessera-fault=recs');
    expect(plain.errors).toEqual(['tessera: /page: tessera-fault "recs": expected fragment:fault, the fault one of timeout, error, refused or stale']);
    expect(plain.notes).toBeUndefined();
  });

  it("is read part by part: a src is left to the page, an unknown id far from every name lists the route's", () => {
    expect(faultNotes(' recs:timeout , /fragments/footer:error,', ['recs'])).toEqual([]);
    expect(faultNotes('basket:error', ['recs', 'reviews'])).toEqual([
      'tessera-fault "basket:error": no fragment "basket" on this route (it has recs, reviews)',
    ]);
    expect(faultNotes('x:stale', [])).toEqual(['tessera-fault "x:stale": no fragment "x" on this route (it declares none)']);
    expect(faultNotes(':error', ['recs'])).toHaveLength(1);
  });
});
