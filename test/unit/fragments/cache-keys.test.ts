import { describe, expect, it } from 'vitest';
import { CacheKeys, cacheKey } from '../../../gateway/fragments/cache/cache-key';

const parts = (url: string) => ({ url, varies: ['cookie.currency=EUR'], version: '0' });

describe('cache keys', () => {
  it('are the same key for the same parts and host, and a different one when any part differs', async () => {
    const keys = new CacheKeys();
    const one = await keys.key(parts('https://f.test/a'), 'f.test');
    expect(await new CacheKeys().key(parts('https://f.test/a'), 'f.test')).toEqual(one);
    expect((await keys.key({ ...parts('https://f.test/a'), version: '1' }, 'f.test')).id).not.toBe(one.id);
    expect((await keys.key({ ...parts('https://f.test/a'), varies: ['cookie.currency=USD'] }, 'f.test')).id).not.toBe(one.id);
    expect(one.url).toBe(`https://f.test/__tessera/fragment-cache/${one.id}`);
  });

  it('are remembered up to their bound, and a memo of their own does not clear the fragments’ memo', () => {
    const fragment = cacheKey(parts('https://f.test/price'), 'f.test');
    const pages = new CacheKeys(4);
    const first = pages.key(parts('https://shop.test/p/0'), 'tessera.page');
    expect(pages.key(parts('https://shop.test/p/0'), 'tessera.page')).toBe(first);
    for (let i = 1; i <= 10; i++) pages.key(parts(`https://shop.test/p/${i}`), 'tessera.page');
    // Past its bound the page memo started over; the fragments' memo still holds its key.
    expect(pages.key(parts('https://shop.test/p/0'), 'tessera.page')).not.toBe(first);
    expect(cacheKey(parts('https://f.test/price'), 'f.test')).toBe(fragment);
  });
});
