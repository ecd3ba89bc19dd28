import { parseCookies } from '../lib/cookies';

/** What Tessera reads from `request.cf` (geo): the runtime's object as it is, read once. */
export type RequestGeo = Readonly<Record<string, unknown>>;

/**
 * The parts of a request that cost something to read, each read at most
 * once and only when first asked for: the Cookie header (and its parse), and
 * `request.cf`. Everything that reads cookies or geo goes through here, so a
 * page's templates, its ESI variables and the gateway's own switches read the
 * one parse.
 */
export class RequestReadings {
  private cookieHeaderRead?: { value: string | undefined };
  private jar?: ReadonlyMap<string, string>;
  private cfRead?: { value: RequestGeo | undefined };
  /**
   * What the view read of its visitor that no cache key covers and no header
   * of the page declared beforehand: an ESI variable (a fragment may turn ESI
   * on by itself under `esi: auto`, after the page's headers have gone), or an
   * `esi_` argument, which the page key leaves out on a route that reads
   * ESI_ARGS. `url`: a part of the URL the visitor asked for (its host, query,
   * `esi_` arguments), which caches downstream key on; `visitor`: the visitor
   * themselves (cookies, headers, location). Such a view is never kept as the
   * page for everyone.
   */
  private unkeyed = { url: false, visitor: false };

  constructor(readonly request: Request) {}

  noteUnkeyedRead(what: 'url' | 'visitor'): void {
    this.unkeyed[what] = true;
  }

  /** Anything no key covers. */
  get readUnkeyed(): boolean {
    return this.unkeyed.url || this.unkeyed.visitor;
  }

  /** The visitor themselves (not their URL). */
  get readVisitorUnkeyed(): boolean {
    return this.unkeyed.visitor;
  }

  /** The Cookie header as sent; undefined when there is none. */
  cookieHeader(): string | undefined {
    this.cookieHeaderRead ??= { value: this.request.headers.get('cookie') ?? undefined };
    return this.cookieHeaderRead.value;
  }

  /** Cookie name → raw value (not decoded: what a value means is for its reader to say), parsed once. */
  cookies(): ReadonlyMap<string, string> {
    this.jar ??= parseCookies(this.cookieHeader() ?? null);
    return this.jar;
  }

  /** A request header; the Cookie header comes from the one reading. */
  header(name: string): string | undefined {
    if (name.toLowerCase() === 'cookie') return this.cookieHeader();
    return this.request.headers.get(name) ?? undefined;
  }

  /** `request.cf`, read once: the visitor's location as the edge saw it; undefined outside Cloudflare's edge. */
  geo(): RequestGeo | undefined {
    this.cfRead ??= { value: (this.request as { cf?: RequestGeo }).cf };
    return this.cfRead.value;
  }
}
