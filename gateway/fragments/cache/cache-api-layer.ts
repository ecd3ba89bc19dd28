import type { CachedFragment } from './cached-fragment';
import { retentionMs } from './cached-fragment';
import { withCache } from './with-cache';

/**
 * L2: the Workers Cache API, per data centre. The body is the markup; the
 * freshness metadata rides in a header, because the Cache API only knows
 * max-age and would drop an entry Tessera may still serve stale. max-age is
 * therefore the whole retention (ttl plus the longer stale window).
 *
 * In production the Cache API works only on custom domains (on *.workers.dev
 * it stores nothing); under `tessera dev` and the tests, Miniflare provides it.
 */
const META = 'x-tessera-fragment';

export interface CacheLayer {
  readonly name: string;
  get(url: string): Promise<CachedFragment | undefined>;
  put(url: string, entry: CachedFragment): Promise<void>;
}

export function cacheApiLayer(cacheName: string): CacheLayer | undefined {
  if (typeof caches === 'undefined') return undefined;
  return {
    name: `Cache API (${cacheName})`,
    async get(url) {
      const response = await withCache(cacheName, (cache) => cache.match(url));
      if (!response) return undefined;
      const meta = JSON.parse(response.headers.get(META) ?? 'null') as Omit<CachedFragment, 'html'> | null;
      if (!meta) return undefined;
      return { ...meta, html: await response.text() };
    },
    async put(url, entry) {
      const { html, ...meta } = entry;
      const headers = {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': `max-age=${Math.ceil(retentionMs(entry) / 1000)}`,
        [META]: JSON.stringify(meta),
      };
      await withCache(cacheName, (cache) => cache.put(url, new Response(html, { headers })));
    },
  };
}
