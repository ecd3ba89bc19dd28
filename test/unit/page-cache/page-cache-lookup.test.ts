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

/** A view's request for the page `id`, whose origin answers with `send`; work kept alive goes to `kept`. */
function pageRequest(id: string, send: PageRequest['send'], kept: Promise<unknown>[]): PageRequest {
  return {
    spec: { ttl: { kind: 'fixed', ms: 60_000 }, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, vary: [], lastGood: false, tags: [], coalesce: 'isolate' },
    key: { id, url: `https://cache.test/${id}` },
    url: new URL(`https://origin.test/${id}`),
    headers: () => new Headers(),
    send,
    esi: () => false,
    outOfOrder: false,
    originTimeoutMs: 5_000,
    bodyTimeoutMs: 5_000,
    lastGood: undefined,
    keepAlive: (work) => kept.push(work),
  };
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
    const request = pageRequest(
      'page-key',
      async () => {
        originRequests++;
        return new Response('<main>the page</main>', { headers: { 'content-type': 'text/html' } });
      },
      kept,
    );
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

  it("keeps a miss's body as read, and joins it at once when its reads hold over twice its bytes or are many", async () => {
    const memory = new MemoryLru(16 * 1024 * 1024);
    const cache = new PageCache({ memory: memory.space('page', sizeInMemory), assembled: memory.space('assembled', assembledSize) });
    const kept: Promise<unknown>[] = [];
    /** A page sent in `parts` writes of `size` bytes, each read on its own: a read of 16 KiB or more is a view of a 64 KiB buffer. */
    const stored = async (id: string, size: number, parts: number) => {
      const { readable, writable } = new IdentityTransformStream();
      const request = pageRequest(id, async () => new Response(readable, { headers: { 'content-type': 'text/html' } }), kept);
      const answered = await cache.answer(request);
      const writer = writable.getWriter();
      const streamed = answered.from === 'origin' && answered.body ? answered.body : undefined;
      for (let part = 0; part < parts; part++) {
        const write = writer.write(new Uint8Array(size).fill(97));
        // The view reads each part before the next is sent, so that each is a read of its own.
        await streamed?.read();
        await write;
      }
      await writer.close();
      await Promise.all(kept);
      const page = await cache.servable(request.key);
      if (page?.markup.kind !== 'pending') throw new Error('the miss was not stored pending');
      return page.markup.chunks;
    };
    // Two reads filling most of their buffers: kept as read.
    expect(await stored('full', 60 * 1024, 2)).toHaveLength(2);
    // Five reads of 17 KB, each in a 64 KiB buffer: joined into one.
    const joined = await stored('part-filled', 17 * 1024, 5);
    expect(joined).toHaveLength(1);
    expect(joined[0].buffer.byteLength).toBe(5 * 17 * 1024);
    // A hundred small reads, each copied out to its size: few bytes held beyond them, but a hundred chunks to hold.
    const trickled = await stored('trickled', 1000, 100);
    expect(trickled).toHaveLength(1);
    expect(trickled[0].byteLength).toBe(100 * 1000);
  });
});
