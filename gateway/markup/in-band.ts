import type { IncludeAttributes } from '../contract/types';
import { randomToken } from '../lib/random-token';

/**
 * The gateway's own markup inside the page stream, in one place: what one
 * stage writes into the markup for another to read. Until now each was a
 * string written in one file and parsed in another with nothing tying them.
 *
 * - Instructions for the assembling rewriter: `<tessera-try>` (an
 *   `<esi:try>` the ESI pass held whole, by index) and `<tessera-flush>` (a
 *   point where out-of-order templates may go). Each carries the page's seal,
 *   so an element of the same name that the origin's content carries (user
 *   content a sanitiser let through) is never obeyed.
 * - Placeholders for out-of-order fragments (HTML's `<?start>`/`<?end>`/
 *   `<?marker>`), which the browser or the fallback script patch.
 * - Marker keys, by which the look-ahead scan and the rewriter name one marker.
 * - The debug view's comments around each fragment, which its overlay reads.
 *
 * A page cache that stores a page in compiled form stores these instructions.
 */
export type Instruction =
  | { kind: 'try'; index: number }
  /** Templates may go here: just before `</body>` (and say so), anywhere, or only the named ones. */
  | { kind: 'flush'; at: 'body-end' | 'any' }
  | { kind: 'flush'; at: 'named'; names: readonly string[] };

export const TRY_ELEMENT = 'tessera-try';
export const FLUSH_ELEMENT = 'tessera-flush';

/** What the rewriter's element handlers see of an element. */
interface ElementAttributes {
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
}

/** One page's in-band instructions: written and read with the same seal. */
export class InBand {
  private sealed: string | undefined;

  /** Drawn when the first instruction is written, so a page that needs none never pays for the random bits. */
  private get seal(): string {
    this.sealed ??= randomToken();
    return this.sealed;
  }

  write(instruction: Instruction): string {
    const seal = `data-seal="${this.seal}"`;
    if (instruction.kind === 'try') return `<${TRY_ELEMENT} ${seal} data-index="${instruction.index}"></${TRY_ELEMENT}>`;
    const at = instruction.at === 'named' ? ` data-for="${instruction.names.join(' ')}"` : instruction.at === 'body-end' ? ' data-body-end' : '';
    return `<${FLUSH_ELEMENT} ${seal}${at}></${FLUSH_ELEMENT}>`;
  }

  /** The instruction a `tessera-try` or `tessera-flush` element carries; `undefined` when this page did not write it. */
  read(tag: typeof TRY_ELEMENT | typeof FLUSH_ELEMENT, element: ElementAttributes): Instruction | undefined {
    if (this.sealed === undefined || element.getAttribute('data-seal') !== this.sealed) return undefined;
    if (tag === TRY_ELEMENT) return { kind: 'try', index: Number(element.getAttribute('data-index')) };
    const names = element.getAttribute('data-for');
    if (names !== null) return { kind: 'flush', at: 'named', names: names.split(' ').filter(Boolean) };
    return { kind: 'flush', at: element.hasAttribute('data-body-end') ? 'body-end' : 'any' };
  }
}

/** How the scanner and the rewriter name the same data-slot marker. */
export function slotMarker(id: string): string {
  return `slot:${id}`;
}

/** How the scanner and the rewriter name the same include marker. */
export function includeMarker(include: IncludeAttributes): string {
  return `include:${include.id ?? ''}\n${include.src ?? ''}\n${include.alt ?? ''}`;
}

export function placeholderStart(name: string): string {
  return `<?start name="${name}">`;
}

export const PLACEHOLDER_END = '<?end>';

/** A placeholder holding `content` until its template arrives; without content, a bare insertion point. */
export function placeholderMarkup(name: string, content: string): string {
  return content ? `${placeholderStart(name)}${content}${PLACEHOLDER_END}` : `<?marker name="${name}">`;
}

/** The debug view wraps each fragment in `<!--tessera:KEY-->…<!--/tessera-->`; the overlay script finds them by these. */
export const DEBUG_OPEN_PREFIX = 'tessera:';
export const DEBUG_CLOSE = '<!--/tessera-->';

export function debugOpen(key: string): string {
  return `<!--${DEBUG_OPEN_PREFIX}${encodeURIComponent(key)}-->`;
}
