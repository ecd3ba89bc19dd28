import { describe, expect, it, vi } from 'vitest';
import { SharedFlights } from '../../../gateway/fragments/cache/shared-flights';
import { KvVersions } from '../../../gateway/fragments/cache/versions';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { gate, gatewayFor, html, upstream } from '../harness';

/** A clock the test moves. */
function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('shared flights', () => {
  it('hands every flight to the keep-alive of the request that started it, and only that one', async () => {
    const flights = new SharedFlights<string>();
    const owner: Promise<unknown>[] = [];
    const joiner: Promise<unknown>[] = [];
    const held = gate();
    const first = flights.join(
      'k',
      1000,
      (work) => owner.push(work),
      async () => {
        await held.opened;
        return 'done';
      },
    );
    const second = flights.join(
      'k',
      1000,
      (work) => joiner.push(work),
      async () => 'second fetch',
    );
    expect(owner).toHaveLength(1);
    expect(joiner).toHaveLength(0);
    held.open();
    expect(await Promise.all([first, second])).toEqual(['done', 'done']);
    expect(flights.size).toBe(0);
  });

  it('starts a new flight for a caller that arrives after the bound, instead of joining one that may be dead', async () => {
    const time = clock();
    const flights = new SharedFlights<string>(time.now);
    const dead = new Promise<string>(() => {}); // what a flight whose I/O workerd cancelled looks like
    void flights.join(
      'k',
      500,
      () => {},
      () => dead,
    );
    time.advance(499);
    // Within the bound the caller joins: its own start is never called.
    const start = vi.fn(async () => 'fresh');
    void flights.join('k', 500, () => {}, start);
    expect(start).not.toHaveBeenCalled();
    time.advance(1);
    expect(await flights.join('k', 500, () => {}, start)).toBe('fresh');
    expect(start).toHaveBeenCalledOnce();
  });

  it('never lets a replaced flight remove its replacement when it settles late', async () => {
    const time = clock();
    const flights = new SharedFlights<string>(time.now);
    const slow = gate();
    const replaced = flights.join(
      'k',
      100,
      () => {},
      async () => {
        await slow.opened;
        return 'old';
      },
    );
    time.advance(100);
    const replacement = gate();
    const current = flights.join(
      'k',
      100,
      () => {},
      async () => {
        await replacement.opened;
        return 'new';
      },
    );
    slow.open();
    await replaced;
    // Still joinable: a third caller shares the replacement.
    const third = flights.join(
      'k',
      100,
      () => {},
      async () => 'third',
    );
    replacement.open();
    expect(await Promise.all([current, third])).toEqual(['new', 'new']);
  });

  it('keeps a KV version read alive with the page that started it, and reads again past the bound', async () => {
    const time = clock();
    let reads = 0;
    const kv = { get: () => (reads++ === 0 ? new Promise(() => {}) : Promise.resolve('7')) } as unknown as KVNamespace;
    const versions = new KvVersions(kv, time.now);
    const kept: Promise<unknown>[] = [];
    void versions.version('f', [], (work) => kept.push(work));
    expect(kept).toHaveLength(1);
    time.advance(2_000);
    expect(await versions.version('f', [], () => {})).toBe('7');
  });
});

describe('global coalescing when the Durable Object fails', () => {
  const manifest = { route: '/page', fragments: { f: { src: '/f', ttl: '1m', coalesce: 'global' } } } as RouteManifest;
  const failing = (fail: () => Promise<Response>) =>
    ({ idFromName: (name: string) => name, get: () => ({ fetch: fail }) }) as unknown as DurableObjectNamespace;

  for (const [how, namespace] of [
    ['throws', failing(() => Promise.reject(new Error('overloaded')))],
    ['answers 500', failing(async () => new Response('internal error', { status: 500 }))],
    ['answers something that is not a fetch result', failing(async () => Response.json({ unexpected: true }))],
  ] as const) {
    it(`fetches the fragment directly when the coalescer ${how}`, async () => {
      const error = vi.spyOn(console, 'error').mockImplementation(() => {});
      const net = upstream({ '/page': () => html('<div data-slot="f">own</div>'), '/f': () => html('fresh') });
      const get = gatewayFor(net, manifest, { env: { TESSERA_COALESCER: namespace } });
      expect(await (await get('/page')).text()).toBe('<div data-slot="f">fresh</div>');
      expect(net.requested('/f')).toHaveLength(1);
      error.mockRestore();
    });
  }
});
