import { type CachedFragment, retentionMs } from './cached-fragment';

/**
 * L3, optional: the last good copy of fragments that opt in (`lastGood: true`)
 * in a KV namespace (`TESSERA_LAST_GOOD`), global and eventually consistent.
 * It is read only when a refresh fails and neither L1 nor L2 has a copy — a
 * cold data centre — so stale-if-error still holds there. KV allows about one
 * write per second to a key, so each isolate writes a key at most once a
 * minute, in the background; a failed write or read is ignored.
 */
const MIN_WRITE_INTERVAL_MS = 60_000;
/** KV's smallest expiration. */
const MIN_EXPIRATION_S = 60;
/** Past this many keys written, those written over a minute ago are forgotten. */
const MAX_REMEMBERED = 4096;

export interface LastGoodLayer {
  get(id: string): Promise<CachedFragment | undefined>;
  put(id: string, entry: CachedFragment): Promise<void>;
}

export function kvLastGood(kv: KVNamespace, now: () => number): LastGoodLayer {
  const written = new Map<string, number>();
  return {
    async get(id) {
      const { value, metadata } = await kv.getWithMetadata<Omit<CachedFragment, 'html'>>(`last-good:${id}`);
      return value === null || !metadata ? undefined : { ...metadata, html: value };
    },
    async put(id, entry) {
      const last = written.get(id);
      if (last !== undefined && now() - last < MIN_WRITE_INTERVAL_MS) return;
      // Only writes of the last minute matter: forget older ones before the map grows with every key ever written.
      if (written.size >= MAX_REMEMBERED) for (const [key, at] of written) if (now() - at >= MIN_WRITE_INTERVAL_MS) written.delete(key);
      written.set(id, now());
      const { html, ...metadata } = entry;
      const expirationTtl = Math.max(MIN_EXPIRATION_S, Math.ceil(retentionMs(entry) / 1000));
      await kv.put(`last-good:${id}`, html, { metadata, expirationTtl });
    },
  };
}
