import type { CacheLayer } from './cache-api-layer';
import type { CacheKey } from './cache-key';
import { type CachedFragment, freshness, sizeInMemory } from './cached-fragment';
import type { LastGoodLayer } from './last-good-layer';
import { type LruSpace, MemoryLru } from './memory-lru';
import { type KeepAlive, SharedFlights } from './shared-flights';
import { VariantBudget } from './variant-budget';

/**
 * The per-isolate fragment cache: L1 memory in front of an optional shared
 * layer (L2, the Cache API), and the isolate-wide map of fetches in flight
 * that makes N concurrent misses for one key one upstream fetch. A layer that
 * throws is skipped, logged once, and never breaks a page.
 */
export interface FragmentCacheOptions {
  /** L1 bound in bytes (when no `memory` is given). */
  memoryBytes: number;
  /** L1 shared with the page cache: one bound for fragments and compiled pages together. */
  memory?: MemoryLru;
  /** L2; absent where the platform has none. */
  shared?: CacheLayer;
  /** Injected in tests, so TTLs never need real waiting. */
  now?: () => number;
  /** In [0, 1); drives the ±10% TTL jitter. */
  random?: () => number;
}

export const DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024;

export class FragmentCache {
  readonly now: () => number;
  private readonly random: () => number;
  private readonly memory: LruSpace<CachedFragment>;
  private readonly shared?: CacheLayer;
  private readonly inflight = new SharedFlights<unknown>();
  private readonly variants: VariantBudget;
  private readonly reported = new Set<string>();

  constructor(options: FragmentCacheOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.memory = (options.memory ?? new MemoryLru(options.memoryBytes)).space('fragment', sizeInMemory);
    this.shared = options.shared;
    this.variants = new VariantBudget((id) => {
      const entry = this.memory.peek(id);
      return entry !== undefined && freshness(entry, this.now()).state !== 'expired';
    }, this.now);
  }

  /** L1, then L2 (which refills L1). */
  async lookup(key: CacheKey): Promise<CachedFragment | undefined> {
    const local = this.memory.get(key.id);
    if (local || !this.shared) return local;
    try {
      const entry = await this.shared.get(key.url);
      if (entry) this.memory.set(key.id, entry);
      return entry;
    } catch (error) {
      this.degraded(this.shared.name, error);
      return undefined;
    }
  }

  /** L3, for fragments that opt in: only consulted when a refresh failed and L1 and L2 had nothing. */
  async lastGood(key: CacheKey, layer: LastGoodLayer | undefined): Promise<CachedFragment | undefined> {
    if (!layer) return undefined;
    try {
      return await layer.get(key.id);
    } catch (error) {
      this.degraded('KV last-good', error);
      return undefined;
    }
  }

  keepLastGood(key: CacheKey, entry: CachedFragment, layer: LastGoodLayer | undefined, waitUntil: (work: Promise<unknown>) => void): void {
    if (layer) waitUntil(layer.put(key.id, entry).catch((error) => this.degraded('KV last-good', error)));
  }

  /** L1 only, synchronously: what a fetch that just finished stored. */
  peek(key: CacheKey): CachedFragment | undefined {
    return this.memory.get(key.id);
  }

  /** L1 at once; L2 in the background. */
  store(key: CacheKey, entry: CachedFragment, waitUntil: (work: Promise<unknown>) => void): void {
    this.memory.set(key.id, entry);
    const { shared } = this;
    if (shared) waitUntil(shared.put(key.url, entry).catch((error) => this.degraded(shared.name, error)));
  }

  /**
   * Whether one more variant (distinct key) of a fragment may be stored: a
   * `vary` on something with many values must not fill the cache with it.
   */
  admit(group: string, version: string, key: CacheKey, maxVariants: number): boolean {
    return this.variants.admit(group, version, key.id, maxVariants);
  }

  /** A TTL spread by ±10%, so entries filled together do not expire together. */
  jitter(ttlMs: number): number {
    return Math.round(ttlMs * (0.9 + 0.2 * this.random()));
  }

  /**
   * Runs `fetch` once per key at a time; concurrent callers share its result.
   * The flight outlives the request that started it (see SharedFlights), and
   * after `boundMs` a newcomer no longer joins it.
   */
  coalesce<T>(key: CacheKey, boundMs: number, keepAlive: KeepAlive, fetch: () => Promise<T>): Promise<T> {
    return this.inflight.join(key.id, boundMs, keepAlive, fetch) as Promise<T>;
  }

  /** Fetches in flight in this isolate. */
  get inFlight(): number {
    return this.inflight.size;
  }

  private degraded(layer: string, error: unknown): void {
    if (this.reported.has(layer)) return;
    this.reported.add(layer);
    console.error(`tessera: fragment cache layer ${layer} failed; continuing without it:`, error);
  }
}
