import { type KeepAlive, SharedFlights } from './shared-flights';

/**
 * Fragment versions, the purge mechanism: a fragment's cache key includes the
 * version of the fragment and of each of its tags, so bumping one makes every
 * old entry unreachable everywhere, without a cache walk. Versions live in a
 * KV namespace (`TESSERA_VERSIONS`), one key per fragment or tag, written with
 * the purge time, so concurrent purges never lose a bump. Each isolate re-reads
 * a version at most every `memoMs`; a purge therefore takes effect at once in
 * the isolate that served it, and elsewhere within KV's propagation (up to
 * about 60 s across data centres) plus `memoMs`.
 */
export interface PurgeTargets {
  fragments: string[];
  tags: string[];
  /** Cached pages, by route (manifest) name. */
  routes: string[];
}

export interface VersionStore {
  /**
   * The version part of a cache key, for a fragment and its tags (and, for a fragment in an experiment, the
   * page's arm of it, purged as `<fragment>:<arm>`); a read it starts is kept alive by `keepAlive`.
   */
  version(fragment: string, tags: readonly string[], keepAlive: KeepAlive, arm?: string): Promise<string>;
  /** The same for a route's cached pages: the route's version and its page tags'. */
  pageVersion(route: string, tags: readonly string[], keepAlive: KeepAlive): Promise<string>;
  purge(targets: PurgeTargets): Promise<void>;
}

export const VERSION_MEMO_MS = 10_000;

/** A KV read still unsettled after this long is read again rather than waited on (see SharedFlights). */
const KV_READ_BOUND_MS = 2_000;

/** Without a KV namespace every version is 0, and purge is not available. */
export const FIXED_VERSIONS: VersionStore = {
  version: async () => '0',
  pageVersion: async () => '0',
  purge: async () => {
    throw new Error('purge needs a KV namespace bound as TESSERA_VERSIONS');
  },
};

export class KvVersions implements VersionStore {
  private readonly memo = new Map<string, { value: Promise<string>; readAt: number }>();
  private readonly reads: SharedFlights<string>;

  constructor(
    private readonly kv: KVNamespace,
    private readonly now: () => number = Date.now,
    private readonly memoMs = VERSION_MEMO_MS,
  ) {
    this.reads = new SharedFlights(now);
  }

  version(fragment: string, tags: readonly string[], keepAlive: KeepAlive, arm?: string): Promise<string> {
    const names = [`fragment:${fragment}`, ...(arm === undefined ? [] : [`fragment:${fragment}:${arm}`]), ...tags.map((tag) => `tag:${tag}`)];
    return this.versionOf(names, keepAlive);
  }

  pageVersion(route: string, tags: readonly string[], keepAlive: KeepAlive): Promise<string> {
    return this.versionOf([`route:${route}`, ...tags.map((tag) => `tag:${tag}`)], keepAlive);
  }

  async purge({ fragments, tags, routes }: PurgeTargets): Promise<void> {
    const stamp = String(this.now());
    const names = [...fragments.map((f) => `fragment:${f}`), ...tags.map((t) => `tag:${t}`), ...routes.map((r) => `route:${r}`)];
    await Promise.all(names.map((name) => this.kv.put(`version:${name}`, stamp)));
    for (const name of names) this.memo.set(name, { value: Promise.resolve(stamp), readAt: this.now() });
  }

  private async versionOf(names: string[], keepAlive: KeepAlive): Promise<string> {
    return (await Promise.all(names.map((name) => this.read(name, keepAlive)))).join('.');
  }

  private read(name: string, keepAlive: KeepAlive): Promise<string> {
    const known = this.memo.get(name);
    if (known && this.now() - known.readAt < this.memoMs) return known.value;
    // The read is shared by every page of the isolate until it settles, so it must outlive the page that started it.
    // A KV failure must not break pages: the last known version, or 0, stands.
    const value = this.reads.join(name, KV_READ_BOUND_MS, keepAlive, () =>
      this.kv
        .get(`version:${name}`)
        .then((v) => v ?? '0')
        .catch(() => known?.value ?? '0'),
    );
    // Memoised only once it settled (an unsettled read is in `reads`, bounded there), and never over a purge that came meanwhile.
    void value.then((settled) => {
      if (this.memo.get(name) === known) this.memo.set(name, { value: Promise.resolve(settled), readAt: this.now() });
    });
    return value;
  }
}
