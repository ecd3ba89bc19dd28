import { type DeclaredAsset, declaredAssets } from '../assemble/page-assets';
import type { AssetSpec, CompiledRoute } from '../contract/types';
import type { HostPolicy } from '../fetch/host-policy';
import { preloadEntry, withinBudget } from '../http/asset-links';

/**
 * What a route's pages need before their bodies say so: the assets of the
 * route's declared fragments (`assets:`), and those its fragments placed on
 * earlier views (their `Link` headers and their own markup), remembered per
 * route in the isolate and, when `TESSERA_LAST_GOOD` is bound, in KV for
 * other isolates and cold ones. The page's response announces them in its
 * `Link` header (`rel=preload` / `modulepreload`), which browsers act on at
 * once and Cloudflare turns into 103 Early Hints for later visitors.
 *
 * The header stays within `LINK_BUDGET` (with whatever `Link` the origin sent
 * counted), stylesheets first (they hold the first paint), then scripts, then
 * other hints, each in document order as last seen.
 */
export const LINK_BUDGET = 8 * 1024;
/** A remembered asset not placed by any view for this long is forgotten. */
const FORGET_AFTER_MS = 60 * 60 * 1000;
/** The most assets remembered per route. */
const MAX_REMEMBERED = 64;
/** KV takes about one write per second per key: each isolate writes a route's list at most once a minute, and only when it changed. */
const MIN_WRITE_INTERVAL_MS = 60_000;
/** Routes remembered per isolate; past it, the oldest is forgotten. */
const MAX_ROUTES = 512;

interface Remembered extends DeclaredAsset {
  seenAt: number;
}

interface RouteMemory {
  assets: Remembered[];
  /** The KV read for this route, once per isolate; settled or not, pages go on without waiting for it. */
  read?: Promise<void>;
  writtenAt?: number;
  written?: string;
}

export class RouteAssets {
  private readonly routes = new Map<string, RouteMemory>();

  constructor(
    private readonly kv: KVNamespace | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** At a page's start: the route's list from KV, if the isolate has not read it yet. The page never waits for it. */
  warm(route: string, waitUntil: (work: Promise<unknown>) => void): void {
    const memory = this.memory(route);
    if (memory.read || !this.kv) return;
    const kv = this.kv;
    memory.read = kv
      .get<DeclaredAsset[]>(kvKey(route), { type: 'json', cacheTtl: 60 })
      .then((stored) => {
        if (!Array.isArray(stored)) return;
        const seen = new Set(memory.assets.map((a) => a.href));
        for (const asset of stored) if (isDeclaredAsset(asset) && !seen.has(asset.href)) memory.assets.push({ ...asset, seenAt: this.now() });
      })
      .catch((error) => console.error(`tessera: reading route ${route}'s assets from KV failed (the Link header goes without them):`, error));
    waitUntil(memory.read);
  }

  /**
   * The page's `Link` header entries: its route's declared assets and those
   * remembered, within the budget left by the origin's own `Link` header.
   */
  preload(route: CompiledRoute, policy: HostPolicy, pageUrl: URL, originLink: string | null): string[] {
    const remembered = this.routes.get(route.name)?.assets ?? [];
    const all = [...remembered, ...declaredAssets(route, policy, pageUrl)];
    const entries = new Set<string>();
    for (const rank of [0, 1, 2]) {
      for (const { href, asset } of all) if (priority(asset) === rank) entries.add(preloadEntry(href, asset));
    }
    const used = originLink ? originLink.length + 2 : 0;
    return withinBudget([...entries], LINK_BUDGET - used);
  }

  /** A page placed these fragment assets, in document order: its route's next pages announce them. */
  remember(route: string, placed: ReadonlyArray<DeclaredAsset>, waitUntil: (work: Promise<unknown>) => void): void {
    const memory = this.memory(route);
    const now = this.now();
    const fresh = placed.map((asset) => ({ ...asset, seenAt: now }));
    const hrefs = new Set(fresh.map((a) => a.href));
    const older = memory.assets.filter((a) => !hrefs.has(a.href) && now - a.seenAt < FORGET_AFTER_MS);
    memory.assets = [...fresh, ...older].slice(0, MAX_REMEMBERED);
    if (!this.kv || !memory.assets.length) return;
    const list = JSON.stringify(memory.assets.map(({ href, asset }) => ({ href, asset })));
    if (list === memory.written || (memory.writtenAt !== undefined && now - memory.writtenAt < MIN_WRITE_INTERVAL_MS)) return;
    memory.written = list;
    memory.writtenAt = now;
    waitUntil(
      this.kv
        .put(kvKey(route), list, { expirationTtl: FORGET_AFTER_MS / 1000 })
        .catch((error) => console.error(`tessera: storing route ${route}'s assets in KV failed:`, error)),
    );
  }

  private memory(route: string): RouteMemory {
    let memory = this.routes.get(route);
    if (!memory) {
      if (this.routes.size >= MAX_ROUTES) this.routes.delete(this.routes.keys().next().value as string);
      memory = { assets: [] };
      this.routes.set(route, memory);
    }
    return memory;
  }
}

function kvKey(route: string): string {
  return `route-assets:${route}`;
}

/** Stylesheets first (they hold the first paint), then scripts, then other hints. */
function priority(asset: AssetSpec): number {
  return asset.rel === 'stylesheet' ? 0 : asset.rel === 'script' || asset.rel === 'modulepreload' ? 1 : 2;
}

function isDeclaredAsset(value: unknown): value is DeclaredAsset {
  const candidate = value as DeclaredAsset | null;
  const rels = ['stylesheet', 'script', 'modulepreload', 'preload'];
  return typeof candidate?.href === 'string' && rels.includes(candidate.asset?.rel) && !/[<>\s]/.test(candidate.href);
}
