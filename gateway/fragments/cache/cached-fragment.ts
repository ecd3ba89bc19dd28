/**
 * A fragment as the cache holds it: the markup, and Tessera's own freshness
 * metadata (the Cache API ignores stale-while-revalidate and stale-if-error,
 * so Tessera keeps and evaluates them itself).
 */
export interface CachedFragment {
  html: string;
  /** The fragment host opted in to ESI with its own Surrogate-Control. */
  surrogateEsi: boolean;
  /** When it was stored, by the cache's clock. */
  storedAt: number;
  /** Freshness lifetime, jittered at store time. */
  ttlMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /** Validators for a conditional refresh. */
  etag?: string;
  lastModified?: string;
  /** The answer's `Link` header (the fragment's assets), and the URL it is relative to. */
  link?: { value: string; base: string };
}

/** What freshness is judged by: the same for a cached fragment and a cached page. */
export type FreshnessWindow = Pick<CachedFragment, 'storedAt' | 'ttlMs' | 'staleWhileRevalidateMs' | 'staleIfErrorMs'>;

export type Freshness =
  | { state: 'fresh' }
  /** Serve it now, refresh in the background. */
  | { state: 'stale-while-revalidate' }
  /** Serve it only if a refresh fails. */
  | { state: 'stale-if-error' }
  | { state: 'expired' };

export function freshness(entry: FreshnessWindow, now: number): Freshness {
  const age = now - entry.storedAt;
  if (age < entry.ttlMs) return { state: 'fresh' };
  const staleFor = age - entry.ttlMs;
  if (staleFor < entry.staleWhileRevalidateMs) return { state: 'stale-while-revalidate' };
  if (staleFor < entry.staleIfErrorMs) return { state: 'stale-if-error' };
  return { state: 'expired' };
}

/** How long any layer needs to keep the entry: until no window can use it any more. */
export function retentionMs(entry: FreshnessWindow): number {
  return entry.ttlMs + Math.max(entry.staleWhileRevalidateMs, entry.staleIfErrorMs);
}

/** Approximate bytes in memory (UTF-16 strings), for the L1 bound. */
export function sizeInMemory(entry: CachedFragment): number {
  const link = entry.link ? entry.link.value.length + entry.link.base.length : 0;
  return 2 * (entry.html.length + (entry.etag?.length ?? 0) + (entry.lastModified?.length ?? 0) + link) + 96;
}
