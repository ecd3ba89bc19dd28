import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CacheLayer } from '../../../gateway/fragments/cache/cache-api-layer';
import { VariantBudget } from '../../../gateway/fragments/cache/variant-budget';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { compile, delay, gate, gatewayFor, gatewayForRoutes, html, upstream } from '../harness';

/** A clock the test moves: TTLs are checked without waiting for them. */
function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const page = () => html('[<div data-slot="f">own</div>]');
const slot = (body: string) => /<div data-slot="f">(.*?)<\/div>/.exec(body)?.[1];

/** A fragment whose answer changes on every fetch, so a cached copy is recognisable. */
function versionedFragment(headers: Record<string, string> = {}) {
  let fetches = 0;
  return {
    handler: () => html(`v${++fetches}`, headers),
    get fetches() {
      return fetches;
    },
  };
}

/**
 * A gateway whose pages report what the fragment got: its content, and its
 * line in the dev waterfall (Server-Timing cannot carry a fragment that
 * settles after the headers left).
 */
function cachedGateway(fragment: Record<string, unknown>, net: ReturnType<typeof upstream>, time = clock(), random = () => 0.5) {
  const manifest = { route: '/page', fragments: { f: { src: '/f', ttl: '100s', ...fragment } } } as RouteManifest;
  const get = gatewayFor(net, manifest, { cache: { now: time.now, random }, env: { TESSERA_LOG: 'timing' } });
  const reports: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void reports.push(String(line)));
  return async (init?: RequestInit) => {
    const response = await get('/page', init);
    const body = await response.text();
    await response.settled(); // background refreshes and cache writes
    const report = reports.filter((line) => line.startsWith('tessera: /page')).pop() ?? '';
    return { content: slot(body), timing: / f (\d+ms [^|]*)/.exec(report)?.[1]?.trim() ?? report };
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('fragment cache: TTL', () => {
  it('serves a fragment from the cache until its TTL passes, then fetches it again', async () => {
    const fragment = versionedFragment();
    const time = clock();
    const get = cachedGateway({}, upstream({ '/page': page, '/f': fragment.handler }), time);
    expect((await get()).content).toBe('v1');
    expect((await get()).content).toBe('v1');
    time.advance(99_000);
    const hit = await get();
    expect(hit.content).toBe('v1');
    expect(hit.timing).toMatch(/^\d+ms hit$/);
    time.advance(2_000);
    expect((await get()).content).toBe('v2');
    expect(fragment.fetches).toBe(2);
  });

  it.each([
    { random: 0, fresh: 89_999, expired: 90_000 },
    { random: 0.999999, fresh: 109_999, expired: 110_000 },
  ])('spreads expiry by ±10 percent: with random $random, fresh at $fresh ms, expired at $expired ms', async ({ random, fresh, expired }) => {
    const fragment = versionedFragment();
    const time = clock();
    const get = cachedGateway({}, upstream({ '/page': page, '/f': fragment.handler }), time, () => random);
    await get();
    time.advance(fresh);
    expect((await get()).content).toBe('v1');
    time.advance(expired - fresh);
    expect((await get()).content).toBe('v2');
  });

  it('never stores a fragment with ttl 0', async () => {
    const fragment = versionedFragment();
    const get = cachedGateway({ ttl: 0 }, upstream({ '/page': page, '/f': fragment.handler }));
    expect([(await get()).content, (await get()).content]).toEqual(['v1', 'v2']);
  });
});

describe('fragment cache: what is never stored', () => {
  it.each([
    ['Cache-Control: private', { 'cache-control': 'private, max-age=60' }],
    ['Cache-Control: no-store', { 'cache-control': 'no-store' }],
    ['Set-Cookie', { 'set-cookie': 'id=1' }],
  ])('a response with %s', async (_, headers) => {
    const fragment = versionedFragment(headers);
    const get = cachedGateway({}, upstream({ '/page': page, '/f': fragment.handler }));
    expect([(await get()).content, (await get()).content]).toEqual(['v1', 'v2']);
  });

  it('an answer to a forwarded Authorization, unless it says public', async () => {
    const privateAnswer = versionedFragment();
    const manifest = { forwardHeaders: ['authorization'], vary: ['header.authorization'] };
    const get = cachedGateway(manifest, upstream({ '/page': page, '/f': privateAnswer.handler }));
    const auth = { headers: { authorization: 'Bearer a' } };
    expect([(await get(auth)).content, (await get(auth)).content]).toEqual(['v1', 'v2']);

    const publicAnswer = versionedFragment({ 'cache-control': 'public, max-age=60' });
    const getPublic = cachedGateway(manifest, upstream({ '/page': page, '/f': publicAnswer.handler }));
    expect([(await getPublic(auth)).content, (await getPublic(auth)).content]).toEqual(['v1', 'v1']);
  });

  it('a failed fetch', async () => {
    let fetches = 0;
    const net = upstream({ '/page': page, '/f': () => html('down', {}, ++fetches === 1 ? 503 : 200) });
    const get = cachedGateway({}, net);
    expect([(await get()).content, (await get()).content, (await get()).content]).toEqual(['', 'down', 'down']);
    expect(fetches).toBe(2);
  });
});

describe('fragment cache: keys', () => {
  it('keeps one entry per value of what the fragment varies on', async () => {
    const net = upstream({ '/page': page, '/f': (request) => html(`for ${request.headers.get('accept-language')}`) });
    const get = cachedGateway({ forwardHeaders: ['accept-language'] }, net);
    const de = { headers: { 'accept-language': 'de' } };
    const fr = { headers: { 'accept-language': 'fr' } };
    expect([(await get(de)).content, (await get(fr)).content, (await get(de)).content]).toEqual(['for de', 'for fr', 'for de']);
    expect(net.requested('/f')).toHaveLength(2);
  });

  it('never shares an entry between two visitors with different forwarded cookies', async () => {
    const net = upstream({ '/page': page, '/f': (request) => html(`cart of ${request.headers.get('cookie')}`) });
    const get = cachedGateway({ forwardHeaders: ['cookie'], vary: ['cookie.user'] }, net);
    const alice = { headers: { cookie: 'user=alice' } };
    const bob = { headers: { cookie: 'user=bob' } };
    expect((await get(alice)).content).toBe('cart of user=alice');
    expect((await get(bob)).content).toBe('cart of user=bob');
    expect((await get(alice)).content).toBe('cart of user=alice');
    expect(net.requested('/f')).toHaveLength(2);
  });

  it('shares one entry between routes whose fragments resolve to the same src', async () => {
    const fragment = versionedFragment();
    const net = upstream({ '/a': page, '/b': page, '/f': fragment.handler });
    const get = gatewayFor(net, { routes: ['/a', '/b'], fragments: { f: { src: '/f', ttl: '1m' } } });
    for (const path of ['/a', '/b']) {
      const response = await get(path);
      expect(slot(await response.text())).toBe('v1');
      await response.settled();
    }
  });
});

describe('fragment cache: coalescing', () => {
  it('makes one upstream fetch for many concurrent cold requests', async () => {
    const release = gate();
    let fetches = 0;
    const net = upstream({
      '/page': page,
      '/f': async () => {
        fetches++;
        await release.opened;
        return html('shared');
      },
    });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', ttl: '1m', timeout: '5s' } } });
    const pages = await Promise.all(Array.from({ length: 20 }, () => get('/page')));
    // Every page has its headers, and so its fragment lookup under way, while the one fetch is held.
    const readers = pages.map((p) => p.text());
    release.open();
    expect((await Promise.all(readers)).map(slot)).toEqual(Array(20).fill('shared'));
    expect(fetches).toBe(1);
  });

  it('gives each waiter its own timeout', async () => {
    const net = upstream({
      '/page': page,
      '/f': async () => {
        await delay(300);
        return html('slow');
      },
    });
    const get = cachedGateway({ timeout: '100ms', fallback: 'keep' }, net);
    const waited = await get();
    expect(waited.content).toBe('own');
    expect(waited.timing).toMatch(/^\d+ms fallback \(timeout, keep: no complete response within 100ms\)$/);
  });
});

describe('fragment cache: stale copies', () => {
  it('serves a copy within stale-while-revalidate at once, and refreshes it once in the background', async () => {
    const fragment = versionedFragment();
    const time = clock();
    const get = cachedGateway({ ttl: '10s', staleWhileRevalidate: '1m' }, upstream({ '/page': page, '/f': fragment.handler }), time);
    await get();
    time.advance(20_000);
    const [first, second] = await Promise.all([get(), get()]);
    expect([first.content, second.content]).toEqual(['v1', 'v1']);
    expect(first.timing).toMatch(/^\d+ms stale$/);
    expect(fragment.fetches).toBe(2); // one refresh for both
    expect((await get()).content).toBe('v2');
  });

  it.each([
    ['an error', () => html('down', {}, 503), 'error'],
    ['a timeout', () => new Promise<Response>(() => {}), 'timeout'],
  ])('serves a copy within stale-if-error when the refresh fails with %s', async (_, failing, cause) => {
    let broken = false;
    const net = upstream({ '/page': page, '/f': () => (broken ? failing() : html('good')) });
    const time = clock();
    const get = cachedGateway({ ttl: '10s', timeout: '50ms', staleIfError: '1h', fallback: 'keep' }, net, time);
    await get();
    broken = true;
    time.advance(30 * 60_000);
    const stale = await get();
    expect(stale.content).toBe('good');
    expect(stale.timing).toMatch(new RegExp(`^\\d+ms stale \\(${cause}\\)$`));
    time.advance(31 * 60_000);
    expect((await get()).content).toBe('own'); // past the window: the fallback chain
  });

  it('revalidates an expired copy with its ETag, and keeps it on 304', async () => {
    let fetches = 0;
    const net = upstream({
      '/page': page,
      '/f': (request) => {
        fetches++;
        if (request.headers.get('if-none-match') === '"v1"') return new Response(null, { status: 304 });
        return html('tagged', { etag: '"v1"' });
      },
    });
    const time = clock();
    const get = cachedGateway({ ttl: '10s' }, net, time);
    await get();
    time.advance(20_000);
    const revalidated = await get();
    expect(revalidated.content).toBe('tagged');
    expect(revalidated.timing).toMatch(/^\d+ms revalidated$/);
    time.advance(5_000);
    expect((await get()).timing).toMatch(/^\d+ms hit$/);
    expect(fetches).toBe(2);
  });
});

describe('fragment cache: layers', () => {
  it('shares entries between isolates through the Cache API', async () => {
    const fragment = versionedFragment();
    const net = upstream({ '/page': page, '/f': fragment.handler });
    const manifest = { route: '/page', fragments: { f: { src: '/f', ttl: '1m' } } } as RouteManifest;
    const cacheName = `shared-${Math.random()}`;
    const isolateA = gatewayFor(net, manifest, { cache: { cacheName } });
    const isolateB = gatewayFor(net, manifest, { cache: { cacheName } });
    const first = await isolateA('/page');
    await first.text();
    await first.settled(); // the L2 write happens in the background
    const second = await isolateB('/page');
    expect(slot(await second.text())).toBe('v1');
    expect(fragment.fetches).toBe(1);
  });

  it('degrades past a layer that throws, and still serves from memory', async () => {
    const broken: CacheLayer = {
      name: 'broken',
      get: () => Promise.reject(new Error('layer down')),
      put: () => Promise.reject(new Error('layer down')),
    };
    const fragment = versionedFragment();
    const net = upstream({ '/page': page, '/f': fragment.handler });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', ttl: '1m' } } }, { cache: { sharedLayer: broken } });
    for (let i = 0; i < 2; i++) {
      const response = await get('/page');
      expect(slot(await response.text())).toBe('v1');
      await response.settled();
    }
    expect(fragment.fetches).toBe(1);
  });
});

describe('fragment cache: the last good copy in KV (L3)', () => {
  it('serves stale-if-error in a cold data centre from the copy another one kept', async () => {
    let down = false;
    const src = `/f?${Math.random()}`;
    const net = upstream({ '/page': page, '/f': () => (down ? html('down', {}, 503) : html('good')) });
    const time = clock();
    const manifest = (lastGood: boolean) =>
      ({ route: '/page', fragments: { f: { src, ttl: '10s', staleIfError: '1h', lastGood, fallback: 'keep' } } }) as RouteManifest;
    const inDataCentre = (name: string, lastGood: boolean) =>
      gatewayFor(net, manifest(lastGood), { cache: { cacheName: name, now: time.now }, env: { TESSERA_LAST_GOOD: env.TESSERA_LAST_GOOD } });

    const warm = await inDataCentre('dc-a', true)('/page');
    expect(slot(await warm.text())).toBe('good');
    await warm.settled(); // the KV write happens in the background

    down = true;
    time.advance(60_000);
    const cold = await inDataCentre('dc-b', true)('/page');
    expect(slot(await cold.text())).toBe('good');
    const optedOut = await inDataCentre('dc-c', false)('/page');
    expect(slot(await optedOut.text())).toBe('own');
  });

  it('is refused without staleIfError, which says how long the copy may serve', () => {
    expect(() => compile({ route: '/page', fragments: { f: { src: '/f', ttl: '1m', lastGood: true } } })).toThrow(
      'fragments.f.lastGood: expected staleIfError: as well, for how long the last good copy may be served',
    );
  });
});

describe('fragment cache: the variant budget', () => {
  /** A fragment whose src takes a visitor's query value, as the README's product-id example does. */
  const manifest = (route: string, limits = { variantsPerFragment: 3 }) =>
    ({ route, limits, fragments: { f: { src: '/f?v={query.v}', ttl: '10s' } } }) as RouteManifest;
  const versioned = () => {
    let fetches = 0;
    return (_: Request, url: URL) => html(`${url.searchParams.get('v')}#${++fetches}`);
  };
  const visit = async (get: ReturnType<typeof gatewayFor>, path: string) => {
    const response = await get(path);
    const content = slot(await response.text());
    await response.settled();
    return content;
  };

  it('stores a new variant again once the variants that filled the budget have expired', async () => {
    const time = clock();
    const net = upstream({ '/page': page, '/f': versioned() });
    const get = gatewayFor(net, manifest('/page'), { cache: { now: time.now, random: () => 0.5 } });
    for (const v of ['a', 'b', 'c', 'd']) await visit(get, `/page?v=${v}`);
    // Past the budget while a, b and c are live: d is served, not stored.
    expect(await visit(get, '/page?v=d')).toBe('d#5');
    time.advance(11_000);
    expect(await visit(get, '/page?v=e')).toBe('e#6');
    expect(await visit(get, '/page?v=e')).toBe('e#6');
  });

  it('keeps a budget per route, so one route full of variants leaves another route caching', async () => {
    const net = upstream({ '/a': page, '/b': page, '/f': versioned() });
    const get = gatewayForRoutes(net, [manifest('/a'), manifest('/b')], { cache: { random: () => 0.5 } });
    for (const v of ['1', '2', '3', '4', '5']) await visit(get, `/a?v=${v}`);
    expect(await visit(get, '/b?v=x')).toBe('x#6');
    expect(await visit(get, '/b?v=x')).toBe('x#6');
  });

  it('starts a new budget when a purge changes the version, and never counts the old keys', () => {
    const live = new Set<string>();
    const budget = new VariantBudget((key) => live.has(key));
    for (const key of ['k1', 'k2']) {
      expect(budget.admit('route\nf', 'v1', key, 2)).toBe(true);
      live.add(key);
    }
    expect(budget.admit('route\nf', 'v1', 'k3', 2)).toBe(false);
    // Still live in memory under the old version, but unreachable after the purge.
    expect(budget.admit('route\nf', 'v2', 'k3', 2)).toBe(true);
    expect(budget.admit('route\nf', 'v2', 'k4', 2)).toBe(true);
  });
});

describe('fragment cache: what decides acceptance is part of the key', () => {
  it('never serves a route a cached body it would refuse (another content type)', async () => {
    const net = upstream({ '/json': page, '/html': page, '/f': () => new Response('{"a":1}', { headers: { 'content-type': 'application/json' } }) });
    const get = gatewayForRoutes(
      net,
      [
        { route: '/json', fragments: { f: { src: '/f', ttl: '1m', contentTypes: ['application/json'] } } },
        { route: '/html', fragments: { f: { src: '/f', ttl: '1m', fallback: { html: 'refused' } } } },
      ] as RouteManifest[],
      { cache: { random: () => 0.5 } },
    );
    const json = await get('/json');
    expect(slot(await json.text())).toBe('{"a":1}');
    await json.settled();
    expect(slot(await (await get('/html')).text())).toBe('refused');
  });

  it('never serves a route a cached body over its own byte cap', async () => {
    const big = 'x'.repeat(2000);
    const net = upstream({ '/roomy': page, '/tight': page, '/f': () => html(big) });
    const get = gatewayForRoutes(
      net,
      [
        { route: '/roomy', fragments: { f: { src: '/f', ttl: '1m' } } },
        { route: '/tight', limits: { maxFragmentBytes: 1000 }, fragments: { f: { src: '/f', ttl: '1m', fallback: { html: 'too big' } } } },
      ] as RouteManifest[],
      { cache: { random: () => 0.5 } },
    );
    const roomy = await get('/roomy');
    expect(slot(await roomy.text())).toBe(big);
    await roomy.settled();
    expect(slot(await (await get('/tight')).text())).toBe('too big');
  });
});
