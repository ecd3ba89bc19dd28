import { type CachedFragment, type FreshnessWindow, retentionMs } from './cached-fragment';

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

/**
 * Which KV writes an isolate may make: each key at most once a minute (KV
 * allows about one write per second to a key). Shared by the last-good
 * layers of fragments and of pages.
 */
export function kvWriteThrottle(now: () => number): (key: string) => boolean {
  const written = new Map<string, number>();
  return (key) => {
    const last = written.get(key);
    if (last !== undefined && now() - last < MIN_WRITE_INTERVAL_MS) return false;
    // Only writes of the last minute matter: forget older ones before the map grows with every key ever written.
    if (written.size >= MAX_REMEMBERED) for (const [id, at] of written) if (now() - at >= MIN_WRITE_INTERVAL_MS) written.delete(id);
    written.set(key, now());
    return true;
  };
}

/** A KV expiration covering the whole retention of an entry (ttl plus the longer stale window), at least KV's smallest. */
export function kvExpirationTtl(entry: FreshnessWindow): number {
  return Math.max(MIN_EXPIRATION_S, Math.ceil(retentionMs(entry) / 1000));
}

export interface LastGoodLayer {
  get(id: string): Promise<CachedFragment | undefined>;
  put(id: string, entry: CachedFragment): Promise<void>;
}

export function kvLastGood(kv: KVNamespace, now: () => number): LastGoodLayer {
  const mayWrite = kvWriteThrottle(now);
  return {
    async get(id) {
      const { value, metadata } = await kv.getWithMetadata<Omit<CachedFragment, 'html'>>(`last-good:${id}`);
      return value === null || !metadata ? undefined : { ...metadata, html: value };
    },
    async put(id, entry) {
      if (!mayWrite(id)) return;
      const { html, ...metadata } = entry;
      await kv.put(`last-good:${id}`, html, { metadata, expirationTtl: kvExpirationTtl(entry) });
    },
  };
}
