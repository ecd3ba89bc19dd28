import { describe, expect, it } from 'vitest';
import { MemoryLru } from '../../../gateway/fragments/cache/memory-lru';
import { assembledSize } from '../../../gateway/page-cache/assembled-pages';
import { sizeInMemory } from '../../../gateway/page-cache/cached-page';
import { PageCache, type PageRequest } from '../../../gateway/page-cache/page-cache';
import type { PageLayer } from '../../../gateway/page-cache/page-layers';

/** A promise the test settles when it chooses. */
function latch() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('page cache lookups', () => {
  it('makes one origin request when a view finds L2 empty only after another view stored the page', async () => {
    // L2 is a subrequest: each lookup answers "nothing" when the test opens its latch.
    const lookups: Array<ReturnType<typeof latch>> = [];
    const slowL2: PageLayer = {
      name: 'slow L2',
      get: async () => {
        const answer = latch();
        lookups.push(answer);
        await answer.opened;
        return undefined;
      },
      put: async () => {},
    };
    const memory = new MemoryLru(16 * 1024 * 1024);
    const cache = new PageCache({ memory: memory.space('page', sizeInMemory), assembled: memory.space('assembled', assembledSize), shared: slowL2 });
    let originRequests = 0;
    const kept: Promise<unknown>[] = [];
    const request: PageRequest = {
      spec: { ttl: { kind: 'fixed', ms: 60_000 }, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, vary: [], lastGood: false, tags: [], coalesce: 'isolate' },
      key: { id: 'page-key', url: 'https://cache.test/page-key' },
      url: new URL('https://origin.test/p'),
      headers: () => new Headers(),
      send: async () => {
        originRequests++;
        return new Response('<main>the page</main>', { headers: { 'content-type': 'text/html' } });
      },
      esi: () => false,
      outOfOrder: false,
      originTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
      lastGood: undefined,
      keepAlive: (work) => kept.push(work),
    };
    // Two views miss L1 at once; both ask L2.
    const first = cache.answer(request);
    const second = cache.answer(request);
    await Promise.resolve();
    expect(lookups).toHaveLength(2);
    // The first hears "nothing" and asks the origin; its copy is stored and its flight ends.
    lookups[0].open();
    const answered = await first;
    // The view stops reading at once: the copy is read whole all the same.
    if (answered.from === 'origin') await answered.body?.cancel();
    await Promise.all(kept);
    // Only then does the second view's L2 lookup answer.
    lookups[1].open();
    expect((await second).from).toBe('cache');
    expect(originRequests).toBe(1);
  });
});
