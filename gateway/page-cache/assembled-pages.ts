import type { LruSpace } from '../fragments/cache/memory-lru';

/**
 * The assembled output of a cached page, kept while the gateway's own
 * headers say any shared cache may keep it. Such a page reads nothing from
 * the visitor: whatever a fragment or the page reads makes it `private` or
 * adds a `Vary` (request/visitor-inputs.ts), and then it is not kept. So a
 * view of it is the same bytes for everyone, and can be answered without
 * resolving its fragments again, as a CDN in front would answer it.
 *
 * It is kept no longer than the shortest of: the page's `max-age`, the cached
 * page's freshness, every fragment's remaining freshness, and
 * `ASSEMBLED_MAX_MS`, the time within which a purge reaches an isolate
 * anyway (the version memo). A purge served by this isolate forgets them all
 * at once.
 */
export interface AssembledPage {
  status: number;
  statusText: string;
  /** The response's headers, Server-Timing aside. */
  headers: Array<[string, string]>;
  body: Uint8Array;
  etag: string;
  /** By the cache's clock. */
  expiresAt: number;
}

/** As memory holds it: with the purge generation it was kept in. */
export type KeptAssembledPage = AssembledPage & { generation: number };

export const ASSEMBLED_MAX_MS = 10_000;

export class AssembledPages {
  /** Bumped by a purge: entries of an older generation are never served. */
  private generation = 0;

  constructor(
    private readonly memory: LruSpace<KeptAssembledPage>,
    private readonly now: () => number,
  ) {}

  get(keyId: string): AssembledPage | undefined {
    const entry = this.memory.get(keyId);
    if (!entry || entry.generation !== this.generation || entry.expiresAt <= this.now()) return undefined;
    return entry;
  }

  keep(keyId: string, page: AssembledPage): void {
    if (page.expiresAt > this.now()) this.memory.set(keyId, { ...page, generation: this.generation });
  }

  forget(): void {
    this.generation++;
  }
}

export function assembledSize(page: KeptAssembledPage): number {
  return page.body.byteLength + page.headers.reduce((sum, [name, value]) => sum + 2 * (name.length + value.length) + 32, 0) + 512;
}

/**
 * How long a shared cache may keep a response with these headers, by the
 * gateway's own rules for what it sends downstream: `undefined` when it may
 * not (private, no-store, no-cache, no max-age, a cookie set, or a `Vary`
 * beyond Accept-Encoding, which would need the visitor's headers in the key).
 */
export function sharedLifetimeMs(headers: Headers): number | undefined {
  if (headers.has('set-cookie')) return undefined;
  const vary = (headers.get('vary') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name && name !== 'accept-encoding');
  if (vary.length) return undefined;
  const control = (headers.get('cache-control') ?? '').toLowerCase();
  if (/\b(private|no-store|no-cache)\b/.test(control)) return undefined;
  const seconds = Number(/\bs-maxage\s*=\s*(\d+)/.exec(control)?.[1] ?? /\bmax-age\s*=\s*(\d+)/.exec(control)?.[1] ?? 0);
  return seconds > 0 ? seconds * 1000 : undefined;
}
