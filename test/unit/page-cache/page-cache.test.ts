import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { delay, gate, gatewayFor, html, upstream } from '../harness';

/** A clock the test moves: TTLs are checked without waiting for them. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** An origin page that changes on every request, so a cached copy is recognisable. */
function versionedPage(headers: Record<string, string> = {}) {
  let served = 0;
  return {
    handler: () => html(`<main>v${++served} <div data-slot="f">own</div></main>`, headers),
    get served() {
      return served;
    },
  };
}

const originState = (response: Response) => /^origin;dur=\d+;desc="([a-z]+)"/.exec(response.headers.get('server-timing') ?? '')?.[1];

function pageGateway(
  net: ReturnType<typeof upstream>,
  page: Record<string, unknown> = { ttl: '1m' },
  extra: Partial<RouteManifest> = {},
  options: { time?: ReturnType<typeof clock>; env?: Record<string, unknown> } = {},
) {
  const manifest = { route: '/p', page, fragments: { f: { src: '/f', ttl: '0s' } }, ...extra } as RouteManifest;
  const get = gatewayFor(net, manifest, { cache: { now: options.time?.now }, env: options.env });
  return async (path = '/p', init?: RequestInit) => {
    const response = await get(path, init);
    const body = await response.text();
    await response.settled();
    return { body, status: response.status, state: originState(response), headers: response.headers };
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('page cache: freshness', () => {
  it('serves the page from the cache until its ttl passes, without asking the origin, with its fragments live', async () => {
    const origin = versionedPage();
    let fragments = 0;
    const net = upstream({ '/p': origin.handler, '/f': () => html(`f${++fragments}`) });
    const time = clock();
    const get = pageGateway(net, { ttl: '1m' }, {}, { time });
    const cold = await get();
    expect(cold).toMatchObject({ status: 200, state: 'miss', body: '<main>v1 <div data-slot="f">f1</div></main>' });
    time.advance(59_000);
    const warm = await get();
    expect(warm).toMatchObject({ status: 200, state: 'hit', body: '<main>v1 <div data-slot="f">f2</div></main>' });
    time.advance(2_000);
    expect(await get()).toMatchObject({ state: 'miss', body: '<main>v2 <div data-slot="f">f3</div></main>' });
    expect(origin.served).toBe(2);
  });

  it('serves a stale page at once within staleWhileRevalidate, and refreshes it once in the background', async () => {
    const origin = versionedPage();
    const net = upstream({ '/p': origin.handler, '/f': () => html('f') });
    const time = clock();
    const get = pageGateway(net, { ttl: '1m', staleWhileRevalidate: '1m' }, {}, { time });
    await get();
    time.advance(61_000);
    const stale = await Promise.all([get(), get(), get()]);
    for (const view of stale) expect(view).toMatchObject({ state: 'stale', body: expect.stringContaining('v1') });
    expect(origin.served).toBe(2);
    expect(await get()).toMatchObject({ state: 'hit', body: expect.stringContaining('v2') });
  });

  it('follows the origin shared-cache freshness with ttl: origin, Surrogate-Control first', async () => {
    const time = clock();
    const sMaxAge = versionedPage({ 'cache-control': 'public, max-age=5, s-maxage=30' });
    const surrogate = versionedPage({ 'cache-control': 'max-age=5', 'surrogate-control': 'max-age=100' });
    const net = upstream({ '/p': sMaxAge.handler, '/q': surrogate.handler, '/f': () => html('f') });
    const manifest = { routes: ['/p', '/q'], page: { ttl: 'origin' }, fragments: { f: { src: '/f', ttl: '0s' } } } as RouteManifest;
    const get = gatewayFor(net, manifest, { cache: { now: time.now } });
    const view = async (path: string) => {
      const response = await get(path);
      await response.text();
      await response.settled();
      return originState(response);
    };
    expect([await view('/p'), await view('/q')]).toEqual(['miss', 'miss']);
    time.advance(29_000);
    expect([await view('/p'), await view('/q')]).toEqual(['hit', 'hit']);
    time.advance(2_000);
    expect([await view('/p'), await view('/q')]).toEqual(['miss', 'hit']);
  });

  it('stores nothing under ttl: origin when the origin gives no shared freshness', async () => {
    const origin = versionedPage({ 'cache-control': 'max-age=0' });
    const net = upstream({ '/p': origin.handler, '/f': () => html('f') });
    const get = pageGateway(net, { ttl: 'origin' });
    await get();
    expect(await get()).toMatchObject({ state: 'miss', body: expect.stringContaining('v2') });
  });
});

describe('page cache: an origin that fails', () => {
  const failures: Array<[string, () => Response | Promise<Response>]> = [
    ['answers 503', () => html('down', {}, 503)],
    ['refuses the connection', () => Promise.reject(new TypeError('connection refused'))],
    ['sends no headers in time', () => delay(2_000).then(() => html('late'))],
  ];
  for (const [what, failure] of failures) {
    it(`gets the stale page within staleIfError when it ${what}, with live fragments`, async () => {
      let failing = false;
      let fragments = 0;
      const origin = versionedPage();
      const net = upstream({ '/p': () => (failing ? failure() : origin.handler()), '/f': () => html(`f${++fragments}`) });
      const time = clock();
      const get = pageGateway(net, { ttl: '1m', staleIfError: '1h' }, { timeouts: { origin: '200ms' } }, { time });
      await get();
      failing = true;
      time.advance(10 * 60_000);
      expect(await get()).toMatchObject({ status: 200, state: 'stale', body: '<main>v1 <div data-slot="f">f2</div></main>' });
    });
  }

  it('answers with an error page once staleIfError has passed', async () => {
    let failing = false;
    const origin = versionedPage();
    const net = upstream({ '/p': () => (failing ? Promise.reject(new TypeError('refused')) : origin.handler()), '/f': () => html('f') });
    const time = clock();
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const get = pageGateway(net, { ttl: '1m', staleIfError: '1m' }, {}, { time });
    await get();
    failing = true;
    time.advance(3 * 60_000);
    expect((await get()).status).toBe(502);
  });

  it('serves another isolate the compiled page from the Cache API, without asking the origin', async () => {
    const origin = versionedPage();
    const net = upstream({ '/p': origin.handler, '/f': () => html('f') });
    const manifest = { route: '/p', page: { ttl: '1h' }, fragments: { f: { src: '/f', ttl: '0s' } } } as RouteManifest;
    const pageCacheName = `pages-${Math.random()}`;
    const view = async (get: ReturnType<typeof gatewayFor>) => {
      const response = await get('/p');
      const body = await response.text();
      await response.settled();
      return { body, state: originState(response) };
    };
    const first = gatewayFor(net, manifest, { cache: { pageCacheName } });
    await view(first); // the miss stores the bytes
    await view(first); // the first hit compiles them and stores the compiled form
    // Another isolate: its own memory, the same data centre's Cache API.
    expect(await view(gatewayFor(net, manifest, { cache: { pageCacheName } }))).toEqual({ body: '<main>v1 <div data-slot="f">f</div></main>', state: 'hit' });
    expect(origin.served).toBe(1);
  });

  it('serves the last good copy from KV in a data centre whose caches are cold', async () => {
    let failing = false;
    const origin = versionedPage();
    const net = upstream({ '/p': () => (failing ? html('down', {}, 500) : origin.handler()), '/f': () => html('f') });
    const page = { ttl: '1m', staleIfError: '1d', lastGood: true };
    const route = `/p${Math.random().toString(36).slice(2)}`;
    const manifest = (extra: object) => ({ route, page, fragments: { f: { src: '/f', ttl: '0s' } }, ...extra }) as RouteManifest;
    const warm = gatewayFor(upstream({ [route]: origin.handler, '/f': () => html('f') }), manifest({}), { env: { TESSERA_LAST_GOOD: env.TESSERA_LAST_GOOD } });
    const first = await warm(route);
    await first.text();
    await first.settled();
    failing = true;
    // Another isolate: no L1, a Cache API cache of its own.
    const cold = gatewayFor(upstream({ [route]: () => html('down', {}, 500), '/f': () => html('f') }), manifest({}), {
      env: { TESSERA_LAST_GOOD: env.TESSERA_LAST_GOOD },
    });
    const response = await cold(route);
    expect(response.status).toBe(200);
    expect(originState(response)).toBe('stale');
    expect(await response.text()).toContain('v1');
    expect(net.calls).toHaveLength(0);
  });
});

describe('page cache: revalidation', () => {
  it('revalidates an expired page with its validators, and a 304 keeps the compiled copy', async () => {
    let served = 0;
    const conditionals: Array<string | null> = [];
    const net = upstream({
      '/p': (request) => {
        conditionals.push(request.headers.get('if-none-match'));
        if (request.headers.get('if-none-match') === '"v1"') return new Response(null, { status: 304, headers: { etag: '"v1"' } });
        return html(`<main>v${++served} <div data-slot="f">own</div></main>`, { etag: `"v${served}"` });
      },
      '/f': () => html('f'),
    });
    const time = clock();
    const get = pageGateway(net, { ttl: '1m' }, {}, { time });
    await get();
    time.advance(61_000);
    expect(await get()).toMatchObject({ state: 'revalidated', body: '<main>v1 <div data-slot="f">f</div></main>' });
    expect(await get()).toMatchObject({ state: 'hit' });
    expect(conditionals).toEqual([null, '"v1"']);
  });

  it('passes none of the origin validators downstream on an assembled page (it gets its own ETag)', async () => {
    const net = upstream({ '/p': () => html('<p>x</p>', { etag: '"x"', 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' }), '/f': () => html('f') });
    const get = pageGateway(net);
    await get();
    const { headers, state } = await get();
    expect(state).toBe('hit');
    expect(headers.get('etag')).toMatch(/^W\/"[0-9a-f]{32}"$/);
    expect(headers.get('last-modified')).toBeNull();
  });
});

describe('page cache: out-of-order views', () => {
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36' };

  it('places a slow fragment out of order on a cached page as on a fresh one: a placeholder, then its template before </body>', async () => {
    const net = upstream({
      '/p': () => html('<html><body><main><div data-slot="slow">wait</div><p>after</p></main><footer>f</footer></body></html>'),
      '/slow': () => delay(30).then(() => html('<b>S</b>')),
    });
    const manifest = { route: '/p', page: { ttl: '1h' }, fragments: { slow: { src: '/slow', ttl: '0s', placement: 'out-of-order' } } } as RouteManifest;
    const get = gatewayFor(net, manifest, { env: { TESSERA_LOG: 'timing' } });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const view = async () => {
      const response = await get('/p', { headers: browser });
      const body = await response.text();
      await response.settled();
      return { body: body.replace(/tessera-[0-9a-z]+-/g, 'tessera-N-').replace(/<script[^>]*>[\s\S]*?<\/script>/, '<script/>'), state: originState(response) };
    };
    const cold = await view();
    const warm = await view();
    expect([cold.state, warm.state]).toEqual(['miss', 'hit']);
    // Rendered from the compiled form, not replayed through the pump.
    expect(log.mock.calls.map(([line]) => String(line)).filter((line) => / origin \d+ms hit/.test(line))).toEqual([
      expect.stringMatching(/ origin \d+ms hit \|/),
    ]);
    expect(warm.body).toBe(cold.body);
    expect(warm.body).toBe(
      '<html><body><main><div data-slot="slow"><?start name="tessera-N-1">wait<?end></div><p>after</p></main><footer>f</footer><script/><template for="tessera-N-1"><b>S</b></template></body></html>',
    );
  });
});

describe('page cache: HEAD', () => {
  it('answers a HEAD of a cached page from the cache, with the headers its GET gets', async () => {
    const net = upstream({ '/p': () => html('<p>x</p>', { 'cache-control': 'public, max-age=60', 'x-origin': 'yes' }), '/f': () => html('f') });
    const manifest = { route: '/p', page: { ttl: '1h' }, fragments: { f: { src: '/f', ttl: '0s' } } } as RouteManifest;
    const get = gatewayFor(net, manifest);
    const page = await get('/p');
    await page.text();
    await page.settled();
    const head = await get('/p', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(net.requested('/p')).toHaveLength(1);
    const without = (headers: Headers) => [...headers].filter(([name]) => name !== 'server-timing');
    expect(without(head.headers)).toEqual(without(page.headers));
  });
});

describe('page cache: what is never stored', () => {
  const cases: Array<[string, () => Response]> = [
    ['a page that sets a cookie', () => html('<p>x</p>', { 'set-cookie': 'sid=1' })],
    ['a private page', () => html('<p>x</p>', { 'cache-control': 'private, max-age=60' })],
    ['a no-store page', () => html('<p>x</p>', { 'cache-control': 'no-store' })],
    ['a 404', () => html('<p>gone</p>', {}, 404)],
    ['an answer that is not HTML', () => new Response('{}', { headers: { 'content-type': 'application/json' } })],
    ['a page that varies on a header page.vary does not name', () => html('<p>x</p>', { vary: 'Accept-Language' })],
  ];
  for (const [what, answer] of cases) {
    it(`never stores ${what}, whatever the manifest says`, async () => {
      const net = upstream({ '/p': answer, '/f': () => html('f') });
      const get = pageGateway(net, { ttl: '1h' });
      await get();
      await get();
      expect(net.requested('/p')).toHaveLength(2);
    });
  }

  it('never stores a page larger than the size cap, and still serves it whole', async () => {
    const big = `<main>${'x'.repeat(6 * 1024 * 1024)}</main>`;
    const net = upstream({ '/p': () => html(big), '/f': () => html('f') });
    const get = pageGateway(net, { ttl: '1h' });
    expect((await get()).body.length).toBe(big.length);
    await get();
    expect(net.requested('/p')).toHaveLength(2);
  });
});

describe('page cache: key and credentials', () => {
  it('sends the origin only the cookies page.vary names, and no Authorization', async () => {
    const net = upstream({ '/p': () => html('<p>x</p>'), '/f': () => html('f') });
    const get = pageGateway(net, { ttl: '1h', vary: ['cookie.currency'] });
    await get('/p', { headers: { cookie: 'session=secret; currency=EUR; theme=dark', authorization: 'Bearer visitor' } });
    const [call] = net.requested('/p');
    expect(call.headers.get('cookie')).toBe('currency=EUR');
    expect(call.headers.get('authorization')).toBeNull();
  });

  it('keeps one page per value of what it varies on, and per query', async () => {
    const origin = versionedPage();
    const net = upstream({ '/p': origin.handler, '/f': () => html('f') });
    const get = pageGateway(net, { ttl: '1h', vary: ['cookie.currency'] });
    const eur = { headers: { cookie: 'currency=EUR' } };
    const usd = { headers: { cookie: 'currency=USD; session=a' } };
    const views = [await get('/p', eur), await get('/p', usd), await get('/p', eur), await get('/p', { headers: { cookie: 'currency=USD; session=b' } })];
    expect(views.map((v) => v.state)).toEqual(['miss', 'miss', 'hit', 'hit']);
    expect((await get('/p?page=2', eur)).state).toBe('miss');
    expect(origin.served).toBe(3);
  });

  it('keeps one page per value of a header it varies on, and sends the origin that header', async () => {
    const origin = versionedPage();
    const net = upstream({ '/p': origin.handler, '/f': () => html('f') });
    const get = pageGateway(net, { ttl: '1h', vary: ['header.x-region'] });
    const north = { headers: { 'x-region': 'north' } };
    const south = { headers: { 'x-region': 'south', cookie: 'session=a' } };
    const views = [await get('/p', north), await get('/p', south), await get('/p', north), await get('/p', south)];
    expect(views.map((v) => v.state)).toEqual(['miss', 'miss', 'hit', 'hit']);
    expect(net.requested('/p').map((call) => call.headers.get('x-region'))).toEqual(['north', 'south']);
    expect(net.requested('/p').map((call) => call.headers.get('cookie'))).toEqual([null, null]);
  });

  it('does not use the cache for a placement preview', async () => {
    const net = upstream({ '/p': () => html('<p>x</p>'), '/f': () => html('f') });
    const get = pageGateway(net, { ttl: '1h' }, {}, { env: { TESSERA_DEV: 'true' } });
    await get();
    const preview = await get('/p?tessera-placement=in-order');
    expect(preview.state).toBeUndefined();
    expect(net.requested('/p')).toHaveLength(2);
  });
});

describe('page cache: the origin request', () => {
  it('goes out ahead of the declared fragments on a miss, though it is sent only once the cache has looked', async () => {
    const originAsked = gate();
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const routes: Record<string, () => Response | Promise<Response>> = {
      '/p': () => {
        originAsked.open();
        return html(`<main>${ids.map((id) => `<div data-slot="${id}"></div>`).join('')}</main>`);
      },
    };
    // Every fragment answers only once the origin has been asked: a page whose origin request queued behind them would wait out their timeouts.
    for (const id of ids) routes[`/${id}`] = () => originAsked.opened.then(() => html(id.toUpperCase()));
    const net = upstream(routes);
    const fragments = Object.fromEntries(ids.map((id) => [id, { src: `/${id}`, ttl: '0s', timeout: '2s' }]));
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h' }, limits: { concurrency: 6 }, fragments } as RouteManifest);
    const started = Date.now();
    const response = await get('/p');
    expect(await response.text()).toBe(`<main>${ids.map((id) => `<div data-slot="${id}">${id.toUpperCase()}</div>`).join('')}</main>`);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('page cache: coalescing', () => {
  it('makes one origin request for any number of concurrent views that miss the same page', async () => {
    const released = gate();
    const origin = versionedPage();
    const net = upstream({ '/p': () => released.opened.then(() => origin.handler()), '/f': () => html('f') });
    const get = pageGateway(net, { ttl: '1h' });
    const views = Array.from({ length: 20 }, () => get());
    await delay(20);
    released.open();
    const answered = await Promise.all(views);
    expect(origin.served).toBe(1);
    expect(new Set(answered.map((v) => v.body))).toEqual(new Set(['<main>v1 <div data-slot="f">f</div></main>']));
    expect(answered.every((v) => v.state === 'miss')).toBe(true);
  });

  it('lets every view ask for itself when the coalesced answer may not be shared (it set a cookie)', async () => {
    const released = gate();
    let served = 0;
    const net = upstream({ '/p': () => released.opened.then(() => html(`<p>${++served}</p>`, { 'set-cookie': `sid=${served}` })), '/f': () => html('f') });
    const get = gatewayFor(net, { route: '/p', page: { ttl: '1h' } } as RouteManifest);
    const views = Array.from({ length: 3 }, () => get('/p'));
    await delay(20);
    released.open();
    const answered = await Promise.all(views);
    expect(new Set(answered.map((r) => r.headers.get('set-cookie'))).size).toBe(3);
  });
});

describe('page cache: purge', () => {
  it('purges pages by route name and by tag', async () => {
    const origin = versionedPage();
    const net = upstream({ '/p': origin.handler, '/f': () => html('f') });
    const tag = `t${Math.random().toString(36).slice(2)}`;
    const purgeEnv = { TESSERA_ADMIN_TOKEN: 'admin', TESSERA_VERSIONS: env.TESSERA_VERSIONS };
    const manifest = { route: '/p', page: { ttl: '1h', tags: [tag] }, fragments: { f: { src: '/f', ttl: '0s' } } } as RouteManifest;
    const get = gatewayFor(net, manifest, { env: purgeEnv });
    const view = async () => {
      const response = await get('/p');
      const body = await response.text();
      await response.settled();
      return body;
    };
    const purge = async (targets: object) => {
      const response = await get('/__tessera/purge', { method: 'POST', headers: { authorization: 'Bearer admin' }, body: JSON.stringify(targets) });
      expect(response.status).toBe(200);
    };
    expect(await view()).toContain('v1');
    expect(await view()).toContain('v1');
    await purge({ routes: ['route0'] });
    expect(await view()).toContain('v2');
    await purge({ tags: [tag] });
    expect(await view()).toContain('v3');
    expect(await view()).toContain('v3');
  });
});
