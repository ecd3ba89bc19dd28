/**
 * L1: an in-isolate LRU bounded in bytes, not entries, so a few large
 * entries cannot push the isolate past its memory limit. Fragments and
 * compiled pages share one bound (and one eviction order): each kind reads and
 * writes through its own typed space, whose keys cannot meet another's. A Map
 * keeps insertion order; a hit is moved to the end, and the front is evicted
 * first.
 */
export class MemoryLru {
  private readonly entries = new Map<string, { value: unknown; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A typed view of the memory: its keys are prefixed with `name`, so only this space ever reads what it wrote. */
  space<V>(name: string, sizeOf: (value: V) => number): LruSpace<V> {
    const prefix = `${name}\n`;
    return {
      get: (key) => this.get(prefix + key) as V | undefined,
      peek: (key) => this.entries.get(prefix + key)?.value as V | undefined,
      set: (key, value) => this.set(prefix + key, value, sizeOf(value)),
      delete: (key) => this.delete(prefix + key),
    };
  }

  private get(key: string): unknown {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  private set(key: string, value: unknown, bytes: number): void {
    this.delete(key);
    if (bytes > this.maxBytes) return; // would evict everything and still not fit
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

export interface LruSpace<V> {
  get(key: string): V | undefined;
  /** Without counting as a use (the LRU order stays). */
  peek(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
}
