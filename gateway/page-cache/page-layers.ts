import type { CacheKey } from '../fragments/cache/cache-key';
import { retentionMs } from '../fragments/cache/cached-fragment';
import { kvExpirationTtl, kvWriteThrottle } from '../fragments/cache/last-good-layer';
import { withCache } from '../fragments/cache/with-cache';
import { type CachedPage, deserialisePage, serialisePage } from './cached-page';

/**
 * Where compiled pages are kept beyond the isolate: L2, the Cache API (per
 * data centre), and L3, the last good copy in KV (global, eventually
 * consistent) for routes with `page.lastGood`, read only when the origin
 * failed and nothing nearer had a copy. Both hold the serialised entry
 * (cached-page.ts); max-age and the KV expiration cover the whole retention,
 * ttl plus the longer stale window.
 */
export interface PageLayer {
  readonly name: string;
  get(key: CacheKey): Promise<CachedPage | undefined>;
  put(key: CacheKey, page: CachedPage): Promise<void>;
}

export function cacheApiPages(cacheName: string): PageLayer | undefined {
  if (typeof caches === 'undefined') return undefined;
  return {
    name: `Cache API (${cacheName})`,
    async get(key) {
      const response = await withCache(cacheName, (cache) => cache.match(key.url));
      return response ? deserialisePage(await response.arrayBuffer()) : undefined;
    },
    async put(key, page) {
      const headers = { 'content-type': 'application/octet-stream', 'cache-control': `max-age=${Math.ceil(retentionMs(page) / 1000)}` };
      await withCache(cacheName, (cache) => cache.put(key.url, new Response(serialisePage(page), { headers })));
    },
  };
}

export function kvLastGoodPages(kv: KVNamespace, now: () => number): PageLayer {
  const mayWrite = kvWriteThrottle(now);
  return {
    name: 'KV last-good pages',
    async get(key) {
      const value = await kv.get(`last-good-page:${key.id}`, 'arrayBuffer');
      return value ? deserialisePage(value) : undefined;
    },
    async put(key, page) {
      if (!mayWrite(key.id)) return;
      await kv.put(`last-good-page:${key.id}`, await serialisePage(page).arrayBuffer(), { expirationTtl: kvExpirationTtl(page) });
    },
  };
}
