import { describe, expect, it } from 'vitest';
import { withCache } from '../../../gateway/fragments/cache/with-cache';

/** A CacheStorage whose caches fail as the test says, counting the operations. */
function storage(failure: Error | undefined) {
  let operations = 0;
  const cache = {
    match: async () => {
      operations++;
      if (failure) throw failure;
      return undefined;
    },
  } as unknown as Cache;
  const fake = { open: async () => cache } as unknown as CacheStorage;
  return {
    fake,
    get operations() {
      return operations;
    },
  };
}

describe('withCache', () => {
  it('skips a Cache API the runtime has none of, asking the runtime only once', async () => {
    const none = storage(new Error('No Cache was configured'));
    expect(await withCache('test-none', (cache) => cache.match('https://x.test/a'), none.fake)).toBeUndefined();
    expect(await withCache('test-none', (cache) => cache.match('https://x.test/a'), none.fake)).toBeUndefined();
    expect(none.operations).toBe(1);
  });

  it('throws any other failure, and asks again next time', async () => {
    const flaky = storage(new Error('internal error'));
    await expect(withCache('test-flaky', (cache) => cache.match('https://x.test/a'), flaky.fake)).rejects.toThrow('internal error');
    await expect(withCache('test-flaky', (cache) => cache.match('https://x.test/a'), flaky.fake)).rejects.toThrow('internal error');
    expect(flaky.operations).toBe(2);
  });

  it('uses the named cache where there is one', async () => {
    await withCache('test-real', (cache) => cache.put('https://x.test/a', new Response('kept', { headers: { 'cache-control': 'max-age=60' } })));
    expect(await (await withCache('test-real', (cache) => cache.match('https://x.test/a')))?.text()).toBe('kept');
  });
});
