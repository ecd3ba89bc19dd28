import type { LruSpace } from '../fragments/cache/memory-lru';
import { VERSION_MEMO_MS } from '../fragments/cache/versions';

/**
 * The assembled output of a cached page that reads nothing from its
 * visitor (`sameForEveryone`), from a view whose every part was a fresh cache
 * hit. Until one of those parts could change, another view would assemble
 * the same bytes from the same parts, so it is answered with these instead,
 * without resolving its fragments again.
 *
 * It is kept no longer than the shortest of: the cached page's freshness,
 * every fragment's remaining freshness, and `ASSEMBLED_MAX_MS`, the time
 * within which a purge reaches an isolate anyway (the version memo). A purge
 * served by this isolate forgets them all at once. How long caches
 * downstream may keep the page is theirs to judge from its headers; it does
 * not bound this copy, whose parts' freshness does.
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

/** A purge reaches every isolate within the version memo: a copy kept no longer never outlives one by more. */
export const ASSEMBLED_MAX_MS = VERSION_MEMO_MS;

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

/** Approximate bytes in memory, for the L1 bound; the fixed part is what `npm run bench:memory` measures beyond the body (about 1.2 KB), rounded up. */
export function assembledSize(page: KeptAssembledPage): number {
  return page.body.byteLength + page.headers.reduce((sum, [name, value]) => sum + 2 * (name.length + value.length) + 32, 0) + 2048;
}

/**
 * Whether a response with these headers, as the gateway sends them, is the
 * same for everyone: nothing `private` or `no-store`, no cookie set, and no
 * `Vary` beyond Accept-Encoding (which would need the visitor's headers in
 * the key). Whatever the page or a fragment reads from the visitor puts one
 * of these on the page (request/visitor-inputs.ts), so a page without them
 * read nothing from its visitor: its output is a function of its cached
 * parts alone, whether or not it lets caches downstream keep it.
 */
export function sameForEveryone(headers: Headers): boolean {
  if (headers.has('set-cookie')) return false;
  const vary = (headers.get('vary') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name && name !== 'accept-encoding');
  if (vary.length) return false;
  return !/\b(private|no-store)\b/i.test(headers.get('cache-control') ?? '');
}
