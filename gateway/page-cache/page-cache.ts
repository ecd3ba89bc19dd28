import type { PageCacheSpec } from '../contract/types';
import type { CacheKey } from '../fragments/cache/cache-key';
import { freshness } from '../fragments/cache/cached-fragment';
import type { LruSpace } from '../fragments/cache/memory-lru';
import { type KeepAlive, SharedFlights } from '../fragments/cache/shared-flights';
import { copyWhileStreaming } from '../lib/body-copy';
import { type ChunkReader, heldBytes, keptWhole, readChunksWithin } from '../lib/chunk-reader';
import { hex } from '../lib/hex';
import { compileMarkup, markupBytes } from '../markup/page-compiler';
import { AssembledPages, type KeptAssembledPage } from './assembled-pages';
import type { CachedPage } from './cached-page';
import type { PageLayer } from './page-layers';
import { PAGE_MAX_BYTES, pageStorability } from './page-storability';

/**
 * The page cache: the origin page of a route with `page:`, kept compiled.
 * One instance per isolate; L1 is the memory fragments use (one byte bound
 * for both), L2 the Cache API, L3 KV for routes with `lastGood`.
 *
 * - fresh: served from the cache, the origin is not asked;
 * - within `staleWhileRevalidate`: served at once, and one refresh runs in
 *   the background (`waitUntil`);
 * - otherwise the origin is asked (conditionally, when the copy has
 *   validators: a 304 keeps the compiled copy), one request per key at a time
 *   in the isolate. A miss streams to the visitor as an uncached page would,
 *   and a copy of its bytes is stored in the background, to be compiled
 *   when it is first served again;
 * - an origin that fails (an error, no headers in time, a 5xx) gets the copy
 *   within `staleIfError`, then the KV copy, before any error.
 */

/** Where this view's page came from; `state` is what Server-Timing's `origin` entry says. */
export type PageOrigin =
  /** `body`: on a miss that is stored, the origin's body as read for the copy (lib/body-copy.ts); `response`'s own is then not to be read. */
  | { from: 'origin'; response: Response; state: 'miss'; notStored?: string; body?: ChunkReader }
  | { from: 'cache'; page: CachedPage; state: 'hit' | 'miss' | 'stale' | 'revalidated' };

export type PageState = PageOrigin['state'];

/** One view's request for its page. */
export interface PageRequest {
  spec: PageCacheSpec;
  key: CacheKey;
  /** The page at the origin. */
  url: URL;
  /** What the origin request carries (credentials already cut down to `page.vary`): made only when one is sent, never for a hit. */
  headers: () => Headers;
  /** Sends the origin request (the page's connection slot, its trace span). */
  send: (headers: Headers, signal: AbortSignal, background: boolean) => Promise<Response>;
  /** Whether a page with these response headers is processed as ESI (it decides what the compiler cuts). */
  esi: (headers: Headers) => boolean;
  /** Whether the route places fragments out of order: the compiled form then also maps where templates may go. */
  outOfOrder: boolean;
  originTimeoutMs: number;
  /** How long the origin body may take to arrive whole, for the copy that is stored. */
  bodyTimeoutMs: number;
  lastGood: PageLayer | undefined;
  keepAlive: KeepAlive;
}

/** The origin sent no response headers in time (the cache's own bound on the request, so that a stale copy can still answer). */
export class OriginTimeout extends Error {
  constructor(ms: number) {
    super(`origin sent no response headers within ${ms}ms`);
    this.name = 'OriginTimeout';
  }
}

/** What one origin request left for the other views that waited on it. */
type Shared =
  | { kind: 'page'; page: CachedPage; state: 'miss' | 'stale' | 'revalidated' }
  /** The origin failed (no answer, no headers in time) and nothing stale could answer: each waiting view fails the same way. */
  | { kind: 'failed'; error: unknown }
  /** An answer that may not be shared (it set a cookie, say): each waiting view asks for itself. */
  | { kind: 'none' };

export interface PageCacheOptions {
  memory: LruSpace<CachedPage>;
  /** The assembled output of pages the same for everyone (assembled-pages.ts), in the same memory. */
  assembled: LruSpace<KeptAssembledPage>;
  shared?: PageLayer;
  now?: () => number;
}

export class PageCache {
  readonly now: () => number;
  readonly assembled: AssembledPages;
  private readonly memory: LruSpace<CachedPage>;
  private readonly shared?: PageLayer;
  private readonly flights: SharedFlights<Shared>;
  private readonly compiles: SharedFlights<CachedPage>;
  private readonly reported = new Set<string>();

  constructor(options: PageCacheOptions) {
    this.now = options.now ?? Date.now;
    this.memory = options.memory;
    this.assembled = new AssembledPages(options.assembled, this.now);
    this.shared = options.shared;
    this.flights = new SharedFlights(this.now);
    this.compiles = new SharedFlights(this.now);
  }

  async answer(request: PageRequest): Promise<PageOrigin> {
    const answer = await this.find(request);
    if (answer.from !== 'cache' || answer.page.markup.kind !== 'pending') return answer;
    return { ...answer, page: await this.compiled(request, answer.page) };
  }

  private async find(request: PageRequest): Promise<PageOrigin> {
    const known = await this.lookup(request.key);
    if (known) {
      const { state } = freshness(known, this.now());
      if (state === 'fresh') return { from: 'cache', page: known, state: 'hit' };
      if (state === 'stale-while-revalidate') {
        this.refresh(request, known);
        return { from: 'cache', page: known, state: 'stale' };
      }
    }
    return this.fromOrigin(request, known);
  }

  /**
   * A page stored at a miss is compiled the first time it is served again: a
   * miss costs what an uncached page does, and a page viewed once is never
   * compiled. The compile (one rewriter pass) costs that first view about
   * what a replay through the streamed path would. One compile per key at a
   * time per copy; the compiled copy replaces the stored one in every layer,
   * unless that one is no longer in memory (a newer copy came, or it was
   * evicted). A compile that fails leaves the page to replay.
   */
  private compiled(request: PageRequest, page: CachedPage): Promise<CachedPage> {
    return this.compiles
      .join(`${request.key.id}\n${page.storedAt}`, request.bodyTimeoutMs, request.keepAlive, async () => {
        const bytes = markupBytes(page.markup);
        const headers = new Headers(page.headers);
        const markup = await compileMarkup(bytes, headers.get('content-type'), request.esi(headers), request.outOfOrder);
        const compiled = { ...page, markup, digest: hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))) };
        // Only over the copy it was made from: a newer copy (a refresh meanwhile), or none (evicted), is left alone.
        if (this.memory.peek(request.key.id)?.storedAt === page.storedAt) this.store(request, compiled);
        return compiled;
      })
      .catch((error) => {
        console.error(`tessera: page ${request.url.pathname} could not be compiled; it is replayed instead:`, error);
        return page;
      });
  }

  /** The cached page for `key` if it may be served now without the origin (fresh, or within stale-while-revalidate). */
  async servable(key: CacheKey): Promise<CachedPage | undefined> {
    const page = await this.lookup(key);
    if (!page) return undefined;
    const { state } = freshness(page, this.now());
    return state === 'fresh' || state === 'stale-while-revalidate' ? page : undefined;
  }

  /** Origin requests and background refreshes in flight in this isolate. */
  get inFlight(): number {
    return this.flights.size;
  }

  /**
   * L1, then L2 (which refills L1), then L1 again: the L2 lookup is a
   * subrequest, and while it ran another view's origin request may have
   * stored the page and ended its flight (a view that then asked the origin
   * again would break coalescing).
   */
  private async lookup(key: CacheKey): Promise<CachedPage | undefined> {
    const local = this.memory.get(key.id);
    if (local || !this.shared) return local;
    const found = await this.layer(this.shared, (layer) => layer.get(key));
    const stored = this.memory.get(key.id);
    // A copy stored meanwhile (a refresh, another view's miss) stands, unless the one L2 held is newer.
    if (!found || (stored && stored.storedAt >= found.storedAt)) return stored;
    this.memory.set(key.id, found);
    return found;
  }

  /** The page from the origin, one request per key: views that come while it runs share its stored result. */
  private async fromOrigin(request: PageRequest, known: CachedPage | undefined): Promise<PageOrigin> {
    let mine: Promise<PageOrigin> | undefined;
    const shared = this.flights.join(request.key.id, request.originTimeoutMs + request.bodyTimeoutMs, request.keepAlive, () => {
      const run = this.ask(request, known, true);
      mine = run.visitor;
      return run.shared;
    });
    if (mine) return mine;
    const outcome = await shared;
    if (outcome.kind === 'page') return { from: 'cache', page: outcome.page, state: outcome.state };
    // An origin that is down is asked once, not once per waiting view.
    if (outcome.kind === 'failed') throw outcome.error;
    // What the origin answered was not for sharing (not storable, or a failure with nothing stale): this view asks itself.
    const own = this.ask(request, known, true);
    request.keepAlive(own.shared);
    return own.visitor;
  }

  /** Within stale-while-revalidate: one refresh in the background, whoever asks. */
  private refresh(request: PageRequest, known: CachedPage): void {
    void this.flights
      .join(request.key.id, request.originTimeoutMs + request.bodyTimeoutMs, request.keepAlive, () => {
        const run = this.ask(request, known, false);
        run.visitor.catch(() => {});
        return run.shared;
      })
      .catch(() => {});
  }

  /**
   * One origin request. `visitor`: what this view serves; `shared`: what views
   * waiting on it get. With `forVisitor`, a storable page's body goes
   * to the visitor's assembly and is kept whole from the same reads
   * (lib/body-copy.ts: the view gets them as `body`), then stored (compiled at
   * its first hit). Without, it is a background refresh: sent
   * behind the page's own requests, its unused answers cancelled.
   */
  private ask(request: PageRequest, known: CachedPage | undefined, forVisitor: boolean): { visitor: Promise<PageOrigin>; shared: Promise<Shared> } {
    let share: (outcome: Shared) => void = () => {};
    const shared = new Promise<Shared>((resolve) => (share = resolve));
    const visitor = (async (): Promise<PageOrigin> => {
      const headers = request.headers();
      if (known?.etag) headers.set('if-none-match', known.etag);
      if (known?.lastModified) headers.set('if-modified-since', known.lastModified);
      // Not the page's signal: the stored copy is for every later view, so its download outlives this one.
      const controller = new AbortController();
      const headersDue = setTimeout(() => controller.abort(new OriginTimeout(request.originTimeoutMs)), request.originTimeoutMs);
      let response: Response;
      try {
        response = await request.send(headers, controller.signal, !forVisitor);
      } catch (error) {
        const failure = controller.signal.aborted ? controller.signal.reason : error;
        return this.failed(request, known, failure, share);
      } finally {
        clearTimeout(headersDue);
      }
      if (response.status === 304 && known) {
        void response.body?.cancel().catch(() => {});
        const page = this.revalidated(request, known, response, headers);
        // The copy still answers this view (the origin says it is current), but one now refused is stored no more.
        if (page.storable) this.store(request, page.page);
        else this.memory.delete(request.key.id);
        share(page.storable ? { kind: 'page', page: page.page, state: 'revalidated' } : { kind: 'none' });
        return { from: 'cache', page: page.page, state: 'revalidated' };
      }
      if (response.status >= 500) {
        const stale = await this.staleCopy(request, known);
        if (stale) {
          void response.body?.cancel().catch(() => {});
          share({ kind: 'page', page: stale, state: 'stale' });
          return { from: 'cache', page: stale, state: 'stale' };
        }
      }
      const verdict = pageStorability(request.spec, request.url, headers, response);
      if (!verdict.storable || !response.body) {
        share({ kind: 'none' });
        if (!forVisitor) void response.body?.cancel().catch(() => {});
        return { from: 'origin', response, state: 'miss', notStored: verdict.storable ? 'it has no body' : verdict.why };
      }
      // A view's miss streams the body on and keeps it whole from the same reads; a refresh only keeps it.
      const copy = forVisitor ? copyWhileStreaming(response.body, PAGE_MAX_BYTES) : undefined;
      const streamed = copy?.forward;
      const stored = this.storeCopy(request, response, copy?.whole ?? readChunksWithin(response.body, PAGE_MAX_BYTES), verdict.ttlMs, controller);
      request.keepAlive(stored.then((page) => share(page ? { kind: 'page', page, state: 'miss' } : { kind: 'none' })));
      if (!streamed) {
        const page = await stored;
        if (!page) throw new Error('the refreshed page could not be stored');
        return { from: 'cache', page, state: 'miss' };
      }
      return { from: 'origin', response, state: 'miss', body: streamed };
    })();
    // A request that failed outright fails the views waiting on it too (every other way out shares its outcome).
    visitor.catch((error) => share({ kind: 'failed', error }));
    return { visitor, shared };
  }

  /** The origin failed: a stale copy if one may answer, else the failure goes on to the page (a 502 or 504). */
  private async failed(request: PageRequest, known: CachedPage | undefined, error: unknown, share: (outcome: Shared) => void): Promise<PageOrigin> {
    const stale = await this.staleCopy(request, known);
    if (!stale) {
      share({ kind: 'failed', error });
      throw error;
    }
    share({ kind: 'page', page: stale, state: 'stale' });
    return { from: 'cache', page: stale, state: 'stale' };
  }

  /** The copy within stale-if-error, else the last good copy in KV (a cold data centre). */
  private async staleCopy(request: PageRequest, known: CachedPage | undefined): Promise<CachedPage | undefined> {
    if (known && freshness(known, this.now()).state !== 'expired') return known;
    const { lastGood } = request;
    if (!request.spec.lastGood || !lastGood) return undefined;
    return this.layer(lastGood, (layer) => layer.get(request.key));
  }

  /**
   * A 304: the compiled copy stands, fresh again from now, with the headers
   * the 304 updates (RFC 9111 §4.3.4), judged again as a new answer would be
   * (a 304 that now says `private` ends the copy; `ttl: origin` reads its
   * freshness from them).
   */
  private revalidated(request: PageRequest, known: CachedPage, response: Response, sent: Headers): { page: CachedPage; storable: boolean } {
    const headers = new Headers(known.headers);
    for (const [name, value] of response.headers) if (name !== 'content-length' && name !== 'content-type') headers.set(name, value);
    const verdict = pageStorability(request.spec, request.url, sent, new Response(null, { status: known.status, headers }));
    const page: CachedPage = {
      ...known,
      headers: [...headers],
      storedAt: this.now(),
      ttlMs: verdict.storable ? verdict.ttlMs : known.ttlMs,
      etag: headers.get('etag') ?? known.etag,
      lastModified: headers.get('last-modified') ?? known.lastModified,
    };
    return { page, storable: verdict.storable };
  }

  /** Reads the copy whole (within the size cap and the body's time) and stores it in every layer. */
  private async storeCopy(
    request: PageRequest,
    response: Response,
    body: Promise<Uint8Array[] | undefined>,
    ttlMs: number,
    controller: AbortController,
  ): Promise<CachedPage | undefined> {
    const bodyDue = setTimeout(() => controller.abort(new Error('the page body took too long to store')), request.bodyTimeoutMs);
    try {
      const chunks = await body;
      if (!chunks) return undefined;
      const { headers } = response;
      const page: CachedPage = {
        status: response.status,
        statusText: response.statusText,
        headers: [...headers],
        // Joined and compiled when it is first served again (`compiled`).
        markup: { kind: 'pending', chunks: joinedAtOnce(chunks) ? [keptWhole(chunks)] : chunks },
        digest: '',
        storedAt: this.now(),
        ttlMs,
        staleWhileRevalidateMs: request.spec.staleWhileRevalidateMs,
        staleIfErrorMs: request.spec.staleIfErrorMs,
        etag: headers.get('etag') ?? undefined,
        lastModified: headers.get('last-modified') ?? undefined,
      };
      this.store(request, page);
      return page;
    } catch (error) {
      console.error(`tessera: page ${request.url.pathname} was served but not stored:`, error);
      return undefined;
    } finally {
      clearTimeout(bodyDue);
    }
  }

  /**
   * L1 at once; L2 once the page is compiled (a miss's copy waits for its
   * first hit here, which keeps the Cache API write off the miss, and off
   * pages viewed once); L3 always, since it is for a data centre that has
   * nothing else (and is written at most once a minute).
   */
  private store(request: PageRequest, page: CachedPage): void {
    const { key, keepAlive, lastGood } = request;
    this.memory.set(key.id, page);
    const { shared } = this;
    if (shared && page.markup.kind !== 'pending') keepAlive(this.layer(shared, (layer) => layer.put(key, page)));
    if (request.spec.lastGood && lastGood) keepAlive(this.layer(lastGood, (layer) => layer.put(key, page)));
  }

  /** A layer that throws is skipped, logged once, and never breaks a page. */
  private async layer<T>(layer: PageLayer, use: (layer: PageLayer) => Promise<T>): Promise<T | undefined> {
    try {
      return await use(layer);
    } catch (error) {
      if (!this.reported.has(layer.name)) {
        this.reported.add(layer.name);
        console.error(`tessera: page cache layer ${layer.name} failed; continuing without it:`, error);
      }
      return undefined;
    }
  }
}

/** More chunks than this are joined at once (see `joinedAtOnce`). */
const MAX_KEPT_CHUNKS = 64;

/**
 * Whether a miss's chunks are joined now rather than held as read until the
 * page's next view: when there are many (an origin that trickled in, each
 * read a typed array and a buffer of its own), or when their buffers hold
 * much more memory than their bytes (reads that part-filled their buffers).
 */
function joinedAtOnce(chunks: readonly Uint8Array[]): boolean {
  return chunks.length > MAX_KEPT_CHUNKS || heldBytes(chunks) > 2 * chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
}
