import type { TryBlock } from '../contract/fragment-source';
import type { CompiledRoute, IncludeAttributes } from '../contract/types';
import { EsiVariables } from '../request/esi-variables';
import type { RequestReadings } from '../request/request-readings';
import { interpolate, UnsafeUrlValue } from './esi-interpolate';
import { decodeEntities, EsiStream } from './esi-stream';
import { InBand } from './in-band';

/**
 * The ESI state of one page: its variables, the `<esi:try>` blocks held so
 * far, and how an include's attributes become a URL. Shared by the stream
 * pass, the markup scanner and the assembler, so that all three read an
 * include the same way.
 */
export class PageEsi {
  readonly variables: EsiVariables;
  /** The page's in-band instructions: a held `<esi:try>` leaves one in its place, which the assembler reads. */
  readonly inBand = new InBand();
  private readonly tries: TryBlock[] = [];

  constructor(
    /** The page's readings of its request (the gateway's VisitorRequest): ESI variables share its one cookie parse. */
    readings: RequestReadings,
    url: URL,
    route: Pick<CompiledRoute, 'esiVariables'>,
    /** What relative `src`s resolve against: the page's own URL at the origin (RFC 3986). */
    readonly base: string,
    private readonly onError: (message: string) => void,
    /** Called with each held `<esi:try>`, so the includes in its attempt can start early. */
    private readonly onTry: (block: TryBlock) => void = () => {},
  ) {
    this.variables = new EsiVariables(readings, url, new Set(route.esiVariables));
  }

  /** A stream pass for the page (or a fragment) that registers its try blocks here. */
  stream(): EsiStream {
    return new EsiStream({
      variables: this.variables,
      onError: this.onError,
      onTry: (block) => {
        this.onTry(block);
        return this.inBand.write({ kind: 'try', index: this.tries.push(block) - 1 });
      },
    });
  }

  tryBlock(index: number): TryBlock | undefined {
    return this.tries[index];
  }

  /** The ESI language applied to markup already in memory (a fragment's). */
  applyTo(html: string): string {
    return this.stream().applyTo(html);
  }

  /**
   * An include URL attribute as a URL: character references decoded,
   * variables substituted and percent-encoded. A value that would be a `.` or
   * `..` segment makes it no URL at all (the include fails), so a visitor can
   * never walk the path.
   */
  url(raw: string | null | undefined): string | undefined {
    const value = raw?.trim();
    if (!value) return undefined;
    try {
      return interpolate(decodeEntities(value), this.variables, 'url');
    } catch (error) {
      if (!(error instanceof UnsafeUrlValue)) throw error;
      this.onError(`esi:include src="${value}": ${error.message}; the include is not fetched`);
      return undefined;
    }
  }
}

/** The attributes an `<esi:include>` is read by, in the scanner and the rewriter alike. */
export const INCLUDE_ATTRIBUTES = ['src', 'alt', 'id', 'onerror', 'maxwait', 'ttl', 'no-store'] as const satisfies ReadonlyArray<keyof IncludeAttributes>;

export function readIncludeAttributes(get: (name: string) => string | null): IncludeAttributes {
  const include: IncludeAttributes = {};
  for (const name of INCLUDE_ATTRIBUTES) include[name] = get(name);
  return include;
}
