import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FragmentEvent } from '../../../gateway/observe/fragment-events';
import { bucketOf } from '../../../gateway/request/experiment-assignment';
import { WEIGHTS_MEMO_MS } from '../../../gateway/request/experiment-weights';
import { VISITOR_COOKIE } from '../../../gateway/request/visitor-id';
import { gate, gatewayFor, html, upstream } from '../harness';

/**
 * Experiments end to end through the gateway: a fragment in variants,
 * assigned per visitor, cached per arm, rolled out from KV, counted as an
 * exposure only when the arm's content is what the page showed.
 */

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';

/** `count` visitor ids (as Tessera's own cookie) whose bucket in `experiment` lies in [from, to) percent. */
async function visitorsIn(experiment: string, from: number, to: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const id = crypto.randomUUID();
    const bucket = await bucketOf(experiment, id);
    if (bucket >= from * 100 && bucket < to * 100) ids.push(id);
  }
  return ids;
}

/** Visitor ids whose bucket is below `threshold` percent (`inside` a variant of that weight), and at or above it. */
async function visitorsSplitAt(experiment: string, threshold: number, each = 3): Promise<{ inside: string[]; outside: string[] }> {
  return { inside: await visitorsIn(experiment, 0, threshold, each), outside: await visitorsIn(experiment, threshold, 100, each) };
}

const as = (id: string, headers: Record<string, string> = {}): RequestInit => ({
  headers: { 'user-agent': BROWSER, cookie: `${VISITOR_COOKIE}=${id}`, ...headers },
});

const slot = (body: string, id = 'recs') => new RegExp(`<div data-slot="${id}">(.*?)</div>`).exec(body)?.[1];

/** An Analytics Engine dataset that keeps its data points. */
function dataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, binding: { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point ?? {}) } as AnalyticsEngineDataset };
}

/** A KV namespace the test controls: its value, whether it fails, and how many reads it served. */
function weightsKv(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial));
  const state = { failing: false, reads: 0 };
  const kv = {
    get: async (key: string) => {
      state.reads++;
      if (state.failing) throw new Error('KV is down');
      return values.get(key) ?? null;
    },
  } as unknown as KVNamespace;
  return { kv, values, state };
}

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** A route whose `recs` fragment has a `new` arm; the origin page holds its slot. */
function experimentRoute(name: string, variant: Record<string, unknown> = {}, fragment: Record<string, unknown> = {}, route: Record<string, unknown> = {}) {
  return {
    route: '/page',
    ...route,
    fragments: {
      recs: { src: '/recs/v1', experiment: name, variants: { new: { src: '/recs/v2', weight: 50, ...variant } }, ...fragment },
    },
  };
}

function recsNet(extra: Record<string, () => Response | Promise<Response>> = {}) {
  return upstream({
    '/page': () => html('<div data-slot="recs">own</div>', { 'cache-control': 'public, max-age=60' }),
    '/recs/v1': () => html('old recs'),
    '/recs/v2': () => html('new recs'),
    ...extra,
  });
}

describe('experiments: assignment', () => {
  it('renders each visitor their arm, the same on every visit', async () => {
    const name = `sticky-${crypto.randomUUID()}`;
    const { inside, outside } = await visitorsSplitAt(name, 50);
    const get = gatewayFor(recsNet(), experimentRoute(name));
    for (const round of [1, 2]) {
      for (const id of inside) expect([round, slot(await (await get('/page', as(id))).text())]).toEqual([round, 'new recs']);
      for (const id of outside) expect([round, slot(await (await get('/page', as(id))).text())]).toEqual([round, 'old recs']);
    }
  });

  it('gives a new visitor an id in a first-party cookie, and takes it back on the next visit', async () => {
    const name = `cookie-${crypto.randomUUID()}`;
    const get = gatewayFor(recsNet(), experimentRoute(name));
    const first = await get('/page', { headers: { 'user-agent': BROWSER } });
    const arm = slot(await first.text());
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(new RegExp(`^${VISITOR_COOKIE}=[0-9a-f-]{36}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax; Secure$`));
    const id = /=([^;]+)/.exec(cookie)![1];
    for (let i = 0; i < 5; i++) {
      const again = await get('/page', as(id));
      expect(slot(await again.text())).toBe(arm);
      expect(again.headers.get('set-cookie')).toBeNull();
    }
  });

  it('keeps an assigned page out of shared caches: private, and Vary on what the arm is read from', async () => {
    const name = `private-${crypto.randomUUID()}`;
    const get = gatewayFor(recsNet(), experimentRoute(name, {}, {}, { assignment: { visitorId: 'header.x-visitor' } }));
    const response = await get('/page', { headers: { 'user-agent': BROWSER, 'x-visitor': 'alice' } });
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    expect(response.headers.get('vary')).toBe('x-visitor, cookie, user-agent');
  });

  it('reads the configured visitor id first, and needs no cookie of its own then', async () => {
    const name = `configured-${crypto.randomUUID()}`;
    const { inside, outside } = await visitorsSplitAt(name, 50, 1);
    const get = gatewayFor(recsNet(), experimentRoute(name, {}, {}, { assignment: { visitorId: 'cookie.uid' } }));
    const inNew = await get('/page', { headers: { 'user-agent': BROWSER, cookie: `uid=${inside[0]}` } });
    expect(slot(await inNew.text())).toBe('new recs');
    expect(inNew.headers.get('set-cookie')).toBeNull();
    expect(slot(await (await get('/page', { headers: { 'user-agent': BROWSER, cookie: `uid=${outside[0]}` } })).text())).toBe('old recs');
  });

  it('pins crawlers (and Save-Data when the route says so) to the default arm, with no cookie', async () => {
    const name = `pinned-${crypto.randomUUID()}`;
    const get = gatewayFor(recsNet(), experimentRoute(name, { weight: 100 }, {}, { assignment: { defaultFor: ['bots', 'save-data'] } }));
    const bot = await get('/page', { headers: { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' } });
    expect(slot(await bot.text())).toBe('old recs');
    expect(bot.headers.get('set-cookie')).toBeNull();
    expect(slot(await (await get('/page', { headers: { 'user-agent': BROWSER, 'save-data': 'on' } })).text())).toBe('old recs');
    expect(slot(await (await get('/page', { headers: { 'user-agent': BROWSER } })).text())).toBe('new recs');
  });

  it('never mixes arms on a page: fragments of one experiment, and an include of the declared src, render the same arm', async () => {
    const name = `together-${crypto.randomUUID()}`;
    const { inside, outside } = await visitorsSplitAt(name, 50, 2);
    const net = upstream({
      '/page': () =>
        html('<div data-slot="header">h</div><esi:include src="/recs/v1"/><div data-slot="footer">f</div>', { 'surrogate-control': 'content="ESI/1.0"' }),
      '/recs/v1': () => html('old recs'),
      '/recs/v2': () => html('new recs'),
      '/header/a': () => html('old header'),
      '/header/b': () => html('new header'),
      '/footer/a': () => html('old footer'),
      '/footer/b': () => html('new footer'),
    });
    const variants = (src: string) => ({ experiment: name, variants: { new: { src, weight: 50 } } });
    const get = gatewayFor(net, {
      route: '/page',
      fragments: {
        header: { src: '/header/a', ...variants('/header/b') },
        recs: { src: '/recs/v1', ...variants('/recs/v2') },
        footer: { src: '/footer/a', ...variants('/footer/b') },
      },
    });
    for (const id of inside) {
      expect(await (await get('/page', as(id))).text()).toBe('<div data-slot="header">new header</div>new recs<div data-slot="footer">new footer</div>');
    }
    for (const id of outside) {
      expect(await (await get('/page', as(id))).text()).toBe('<div data-slot="header">old header</div>old recs<div data-slot="footer">old footer</div>');
    }
  });
});

describe('experiments: the cache', () => {
  it('caches each arm on its own: two arms never share an entry, even with the same src', async () => {
    const name = `cache-${crypto.randomUUID()}`;
    const { inside, outside } = await visitorsSplitAt(name, 50, 2);
    let fetches = 0;
    const net = upstream({ '/page': () => html('<div data-slot="recs"></div>'), '/recs': () => html(`recs #${++fetches}`) });
    // The new arm changes only the ttl: the same URL, yet another entry.
    const get = gatewayFor(net, {
      route: '/page',
      fragments: { recs: { src: '/recs', ttl: '1h', experiment: name, variants: { new: { ttl: '2h', weight: 50 } } } },
    });
    const view = async (id: string) => {
      const response = await get('/page', as(id));
      const body = slot(await response.text());
      await response.settled();
      return body;
    };
    const newArm = await view(inside[0]);
    const defaultArm = await view(outside[0]);
    expect(newArm).not.toBe(defaultArm);
    expect(await view(inside[1])).toBe(newArm);
    expect(await view(outside[1])).toBe(defaultArm);
    expect(fetches).toBe(2);
  });

  it('purges one arm alone (fragments: ["recs:new"]), and every arm with the fragment (["recs"])', async () => {
    const name = `purge-${crypto.randomUUID()}`;
    const id = `recs${crypto.randomUUID().slice(0, 8)}`;
    const { inside, outside } = await visitorsSplitAt(name, 50, 1);
    const fetched = { v1: 0, v2: 0 };
    const net = upstream({
      '/page': () => html(`<div data-slot="${id}"></div>`),
      '/recs/v1': () => html(`old #${++fetched.v1}`),
      '/recs/v2': () => html(`new #${++fetched.v2}`),
    });
    const manifest = {
      route: '/page',
      fragments: { [id]: { src: '/recs/v1', ttl: '1h', experiment: name, variants: { new: { src: '/recs/v2', weight: 50 } } } },
    };
    const get = gatewayFor(net, manifest, { env: { TESSERA_ADMIN_TOKEN: 'admin', TESSERA_VERSIONS: env.TESSERA_VERSIONS } });
    const view = async (visitor: string) => {
      const response = await get('/page', as(visitor));
      const body = slot(await response.text(), id);
      await response.settled();
      return body;
    };
    const purge = async (fragments: string[]) => {
      const response = await get('/__tessera/purge', { method: 'POST', headers: { authorization: 'Bearer admin' }, body: JSON.stringify({ fragments }) });
      expect(response.status).toBe(200);
    };
    expect([await view(inside[0]), await view(outside[0])]).toEqual(['new #1', 'old #1']);
    await purge([`${id}:new`]);
    expect([await view(inside[0]), await view(outside[0])]).toEqual(['new #2', 'old #1']);
    await purge([`${id}:default`]);
    expect([await view(inside[0]), await view(outside[0])]).toEqual(['new #2', 'old #2']);
    await purge([id]);
    expect([await view(inside[0]), await view(outside[0])]).toEqual(['new #3', 'old #3']);
  });
});

describe('experiments: exposures', () => {
  it('counts an exposure per page where the arm rendered, and none where it fell back or was not placed', async () => {
    const name = `exposure-${crypto.randomUUID()}`;
    const { inside, outside } = await visitorsSplitAt(name, 50, 3);
    let v2Down = false;
    let withMarker = true;
    const net = upstream({
      '/page': () => html(withMarker ? '<div data-slot="recs">own</div>' : '<p>no marker here</p>'),
      '/recs/v1': () => html('old recs'),
      '/recs/v2': () => (v2Down ? html('down', {}, 503) : html('new recs')),
    });
    const exposures = dataset();
    const get = gatewayFor(net, experimentRoute(name, { fallback: { html: 'sorry' } }), { env: { TESSERA_EXPOSURES: exposures.binding } });
    const view = async (id: string) => {
      const response = await get('/page', as(id));
      const body = await response.text();
      await response.settled();
      return slot(body);
    };
    // 3 pages with the new arm, 3 with the default, 2 where the new arm fell back, 1 with no marker, 1 forced (a preview).
    for (const id of inside) expect(await view(id)).toBe('new recs');
    for (const id of outside) expect(await view(id)).toBe('old recs');
    v2Down = true;
    expect(await view(inside[0])).toBe('sorry');
    expect(await view(inside[1])).toBe('sorry');
    withMarker = false;
    await view(inside[2]);
    const count = (arm: string, outcome: string) => exposures.points.filter((p) => p.blobs?.[1] === arm && p.blobs?.[2] === outcome).length;
    expect(count('new', 'exposure')).toBe(3);
    expect(count('default', 'exposure')).toBe(3);
    expect(count('new', 'fallback')).toBe(2);
    expect(exposures.points).toHaveLength(8);
    expect(exposures.points[0]).toEqual({ indexes: [name], blobs: [name, 'new', 'exposure', 'route0', 'recs', 'miss'], doubles: [1] });
    expect(exposures.points.find((p) => p.blobs?.[2] === 'fallback')?.blobs?.[5]).toBe('error');
  });

  it('counts one exposure per page and experiment, however many of its fragments the page shows', async () => {
    const name = `once-${crypto.randomUUID()}`;
    const net = upstream({
      '/page': () => html('<div data-slot="a"></div><div data-slot="b"></div><div data-slot="a"></div>'),
      '/a': () => html('A'),
      '/b': () => html('B'),
    });
    const exposures = dataset();
    const variants = { experiment: name, variants: { new: { weight: 100 } } };
    const get = gatewayFor(
      net,
      { route: '/page', fragments: { a: { src: '/a', ...variants }, b: { src: '/b', ...variants } } },
      { env: { TESSERA_EXPOSURES: exposures.binding } },
    );
    const response = await get('/page', { headers: { 'user-agent': BROWSER } });
    await response.text();
    await response.settled();
    expect(exposures.points.map((p) => p.blobs?.slice(0, 3))).toEqual([[name, 'new', 'exposure']]);
  });

  it('tells the arm and the exposure in the lifecycle events: assigned after start, exposure at or after end', async () => {
    const name = `events-${crypto.randomUUID()}`;
    const events: FragmentEvent[] = [];
    const slow = gate();
    const net = recsNet({
      '/recs/v2': async () => {
        await slow.opened;
        return html('new recs');
      },
    });
    const get = gatewayFor(net, experimentRoute(name, { weight: 100 }), { observer: { event: (e) => void events.push(e) } });
    const response = await get('/page', { headers: { 'user-agent': BROWSER } });
    slow.open();
    await response.text();
    expect(events.filter((e) => e.fragment === 'recs').map((e) => e.type)).toEqual(['start', 'assigned', 'sent', 'response', 'miss', 'end', 'exposure']);
    expect(events.find((e) => e.type === 'assigned')).toMatchObject({ assignment: { kind: 'bucketed', experiment: name, arm: 'new' } });
    expect(events.find((e) => e.type === 'exposure')).toMatchObject({ exposed: true });
  });

  it('puts the arm in Server-Timing and the dev log', async () => {
    const name = `timing-${crypto.randomUUID()}`;
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    const get = gatewayFor(recsNet(), experimentRoute(name, { weight: 100 }, { ttl: '1m' }), { env: { TESSERA_LOG: 'timing' } });
    // A crawler, so pinned to the default arm: fetched once, then a hit.
    const first = await get('/page', { headers: { 'user-agent': 'Googlebot/2.1' } });
    await first.text();
    await first.settled();
    expect(lines.at(-1)).toMatch(new RegExp(`recs \\d+ms miss \\[${name}: default, pinned: bot\\]`));
    const second = await get('/page', { headers: { 'user-agent': 'Googlebot/2.1' } });
    await second.text();
    // The headers leave as soon as the origin answered: the arm is known by then, settled or not.
    expect(second.headers.get('server-timing')).toMatch(new RegExp(`fragment\\.recs;(dur=\\d+;desc="hit"|desc="pending");exp="${name}";arm="default"`));
    expect(lines.at(-1)).toMatch(new RegExp(`recs \\d+ms hit \\[${name}: default, pinned: bot\\]`));
    const third = await get('/page', { headers: { 'user-agent': BROWSER } });
    await third.text();
    expect(lines.at(-1)).toMatch(new RegExp(`recs \\d+ms miss \\[${name}: new\\]`));
  });
});

describe('experiments: the debug view', () => {
  it('shows each experiment fragment with its arm, how it was given, and whether it was an exposure', async () => {
    const name = `debug-${crypto.randomUUID()}`;
    const [inside] = await visitorsIn(name, 0, 50, 1);
    const get = gatewayFor(recsNet(), experimentRoute(name, { ttl: '1m' }), { env: { TESSERA_DEV: 'true' } });
    const data = async (path: string, init: RequestInit) => {
      const body = await (await get(path, init)).text();
      const json = /<script type="application\/json" id="tessera-debug-data">(.*?)<\/script>/.exec(body)?.[1] ?? '{}';
      return JSON.parse(json).fragments.find((f: { fragment: string }) => f.fragment === 'recs');
    };
    const bucketed = await data('/page?tessera-debug', as(inside));
    expect(bucketed.experiment).toEqual({ name, arm: 'new', assigned: expect.stringMatching(/^bucketed \(bucket \d+ of 10000\)$/), exposure: 'exposure' });
    expect(bucketed.ttlMs).toBe(60_000);
    expect((await data('/page?tessera-debug&tessera-variant=recs:default', as(inside))).experiment).toEqual({
      name,
      arm: 'default',
      assigned: 'forced by tessera-variant',
      exposure: 'shown, not counted',
    });
    expect((await data('/page?tessera-debug', { headers: { 'user-agent': 'Googlebot/2.1' } })).experiment).toMatchObject({
      assigned: 'pinned to the default arm (bot)',
    });
  });
});

describe('experiments: weights without a deploy', () => {
  it('takes a KV override within the memo window (10 → 50), and nobody leaves the arm as it grows', async () => {
    const name = `rollout-${crypto.randomUUID()}`;
    const time = clock();
    const weights = weightsKv();
    const inside = await visitorsIn(name, 0, 10, 3);
    const movers = await visitorsIn(name, 10, 50, 3);
    const outside = await visitorsIn(name, 50, 100, 3);
    const get = gatewayFor(recsNet(), experimentRoute(name, { weight: 10 }), { cache: { now: time.now }, env: { TESSERA_EXPERIMENTS: weights.kv } });
    const view = async (id: string) => {
      const response = await get('/page', as(id));
      const body = slot(await response.text());
      await response.settled(); // a background read of the weights, if one started
      return body;
    };
    const arms = async (ids: string[]) => {
      const seen: Array<string | undefined> = [];
      for (const id of ids) seen.push(await view(id));
      return seen;
    };
    expect([await arms(inside), await arms(movers), await arms(outside)]).toEqual([
      Array(3).fill('new recs'),
      Array(3).fill('old recs'),
      Array(3).fill('old recs'),
    ]);
    expect(weights.state.reads).toBe(1); // the first page read KV; the rest used the memo

    weights.values.set(name, '{"new": 50}');
    time.advance(WEIGHTS_MEMO_MS - 1);
    expect(await arms(movers)).toEqual(Array(3).fill('old recs')); // within the memo: as before
    time.advance(1);
    expect(await view(outside[0])).toBe('old recs'); // the memo expired: this page is served as known, and KV read behind it
    expect(weights.state.reads).toBe(2);
    expect([await arms(inside), await arms(movers), await arms(outside)]).toEqual([
      Array(3).fill('new recs'),
      Array(3).fill('new recs'),
      Array(3).fill('old recs'),
    ]);
    expect(weights.state.reads).toBe(2);
  });

  it('kills an arm from KV (weight 0), and serves the manifest weights when KV is down', async () => {
    const name = `kill-${crypto.randomUUID()}`;
    const weights = weightsKv({ [name]: '{"new": 0}' });
    const get = gatewayFor(recsNet(), experimentRoute(name, { weight: 100 }), { env: { TESSERA_EXPERIMENTS: weights.kv } });
    expect(slot(await (await get('/page', { headers: { 'user-agent': BROWSER } })).text())).toBe('old recs');

    const other = `down-${crypto.randomUUID()}`;
    const down = weightsKv();
    down.state.failing = true;
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const failing = gatewayFor(recsNet(), experimentRoute(other, { weight: 100 }), { env: { TESSERA_EXPERIMENTS: down.kv } });
    const response = await failing('/page', { headers: { 'user-agent': BROWSER } });
    expect(response.status).toBe(200);
    expect(slot(await response.text())).toBe('new recs');
  });

  it('ignores a value that is not weights, says so once, and keeps the manifest weights', async () => {
    const name = `invalid-${crypto.randomUUID()}`;
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    const weights = weightsKv({ [name]: '{"newer": 50}' });
    const get = gatewayFor(recsNet(), experimentRoute(name, { weight: 100 }), { env: { TESSERA_EXPERIMENTS: weights.kv } });
    for (let i = 0; i < 3; i++) expect(slot(await (await get('/page', { headers: { 'user-agent': BROWSER } })).text())).toBe('new recs');
    expect(errors.filter((line) => line.includes(name))).toEqual([
      `tessera: TESSERA_EXPERIMENTS "${name}": no arm "newer" (it has new); using the manifest's weights`,
    ]);
  });
});

describe('experiments: previewing an arm', () => {
  it('forces an arm with ?tessera-variant under tessera dev: a private, uncounted preview', async () => {
    const name = `forced-${crypto.randomUUID()}`;
    const exposures = dataset();
    const get = gatewayFor(recsNet(), experimentRoute(name, { weight: 0 }), { env: { TESSERA_DEV: 'true', TESSERA_EXPOSURES: exposures.binding } });
    const response = await get('/page?tessera-variant=recs:new', { headers: { 'user-agent': 'Googlebot/2.1' } });
    expect(slot(await response.text())).toBe('new recs');
    await response.settled();
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(exposures.points).toEqual([]);
    // By the experiment's name too, and back to the default arm.
    expect(slot(await (await get(`/page?tessera-variant=${name}:new`)).text())).toBe('new recs');
    expect(slot(await (await get('/page?tessera-variant=recs:default', as(crypto.randomUUID()))).text())).toBe('old recs');
  });

  it('needs the debug token when deployed, and never sends the switch to the origin', async () => {
    const name = `token-${crypto.randomUUID()}`;
    const net = recsNet();
    const get = gatewayFor(net, experimentRoute(name, { weight: 0 }), { env: { TESSERA_DEBUG_TOKEN: 'sesame' } });
    expect(slot(await (await get('/page?tessera-variant=recs:new', { headers: { 'user-agent': BROWSER } })).text())).toBe('old recs');
    expect(slot(await (await get('/page?tessera-variant=recs:new&tessera-debug=sesame', { headers: { 'user-agent': BROWSER } })).text())).toBe(
      '<!--tessera:id%3Arecs-->new recs<!--/tessera-->',
    );
    expect(net.requested('/page').map((c) => new URL(c.url).search)).toEqual(['', '']);
  });

  it('says in the dev log what a variant switch names that the route does not have', async () => {
    const name = `notes-${crypto.randomUUID()}`;
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    const get = gatewayFor(recsNet(), experimentRoute(name), { env: { TESSERA_DEV: 'true' } });
    await (await get('/page?tessera-variant=rec:new,recs:newer')).text();
    expect(errors).toContain(
      `tessera: /page: tessera-variant "rec:new": no experiment or fragment in one named "rec" on this route (it has ${name}, recs); ` +
        `tessera-variant "recs:newer": experiment "${name}" has no arm "newer" (it has default, new)`,
    );
  });
});
