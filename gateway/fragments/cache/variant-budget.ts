/**
 * How many variants (distinct keys) of one fragment the isolate keeps in L1,
 * so a `vary` on something with many values, or a src that takes a visitor's
 * query, cannot fill the memory with one fragment.
 *
 * The budget counts only entries that are still live: one that expired, was
 * evicted, or belongs to a version a purge replaced frees its place. A budget
 * that counted every key ever seen would let a visitor with 100 query values
 * switch caching off for that fragment for the isolate's life. Budgets are per
 * route and fragment (undeclared includes: per src as written in the page, before
 * variables), so one route's traffic cannot spend another's.
 */
const MAX_GROUPS = 10_000;

interface Group {
  version: string;
  keys: Set<string>;
  /** When a full group last looked for keys that are no longer live. */
  sweptAt: number;
}

/** A full group is swept at most this often: a flood of new keys would otherwise make every miss walk all of them. */
const SWEEP_INTERVAL_MS = 1000;

export class VariantBudget {
  private readonly groups = new Map<string, Group>();

  /** `isLive(key)`: whether L1 still holds a copy of that key some window can use. */
  constructor(
    private readonly isLive: (key: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether one more variant may be stored under `group` at `version`. */
  admit(group: string, version: string, key: string, max: number): boolean {
    const variants = this.group(group, version);
    if (variants.keys.has(key)) return true;
    if (variants.keys.size >= max && this.now() - variants.sweptAt >= SWEEP_INTERVAL_MS) {
      variants.sweptAt = this.now();
      for (const known of variants.keys) if (!this.isLive(known)) variants.keys.delete(known);
    }
    if (variants.keys.size >= max) return false;
    variants.keys.add(key);
    return true;
  }

  private group(name: string, version: string): Group {
    const known = this.groups.get(name);
    if (known && known.version === version) return known;
    // A new version (a purge) starts a new budget: the old keys can never be read again.
    this.groups.delete(name);
    if (this.groups.size >= MAX_GROUPS) this.groups.delete(this.groups.keys().next().value as string);
    const fresh = { version, keys: new Set<string>(), sweptAt: Number.NEGATIVE_INFINITY };
    this.groups.set(name, fresh);
    return fresh;
  }
}
