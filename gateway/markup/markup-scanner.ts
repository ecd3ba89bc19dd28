import type { IncludeAttributes } from '../contract/types';
import type { OpenElements } from './open-elements';
import { readIncludeAttributes } from './page-esi';
import {
  Carry,
  closesRawText,
  commentEnd,
  commentTail,
  declarationEnd,
  isLetter,
  isNamed,
  RAW_TEXT_ELEMENTS,
  rawAttribute,
  readTag,
  type Tag,
  tagName,
  type View,
} from './tokenizer';

/**
 * One cheap byte-level pass over the origin page, run by the origin pump as
 * the bytes arrive, that does two jobs:
 *
 * - It cuts each chunk just before every marker tag (`<esi:include>`, or a tag
 *   carrying `data-slot`) whose fragment is still in flight. HTMLRewriter
 *   emits output only when it finishes an *input chunk* (measured in workerd),
 *   so a page arriving in one chunk would otherwise be held back, head
 *   included, behind its first slow marker. Each cut costs a trip through the
 *   streams, so markers whose fragment has settled are not cut before.
 * - It reports every marker it passes, ahead of the assembling rewriter, so
 *   undeclared includes start their fetches early and queued fetches learn
 *   their place in the document.
 *
 * It is not an HTML parser, only a client of the markup tokenizer
 * (tokenizer.ts) that stays in step with one: tags and their quoted
 * attributes, comments, raw-text elements (`<script>`, `<style>`, …) and,
 * when ESI is on, `<esi:remove>`. The
 * assembling rewriter stays the judge of what is rendered; a marker this
 * misses only starts later.
 */
export interface MarkupEvents {
  /** Whether the rewriter will wait at this marker (the piece is cut before it only then). */
  include(include: IncludeAttributes): boolean;
  slot(id: string): boolean;
  /** Whether any fragment is still in flight: without ESI, once none is, no marker can make the rewriter wait. */
  waiting(): boolean;
  /**
   * An `<esi:include>` inside `<script>`, `<style>` or another raw-text
   * element, where the rewriter cannot see it: the bytes that replace it.
   * Never rejects.
   */
  inline(include: IncludeAttributes): Promise<Uint8Array>;
}

/**
 * Where the scanner stopped just before the page's `</body>`, when asked to:
 * out-of-order fragments still owed go in there, at the latest.
 */
export const BODY_END: unique symbol = Symbol('before </body>');

/** What the scanner hands the pump: bytes, or bytes still to come (an include it inlines), in order. */
export type Piece = Uint8Array | Promise<Uint8Array> | typeof BODY_END;

/** Events for a scan that only starts includes (markup already in memory, whose pieces nobody writes). */
export function discoveryOnly(discover: (include: IncludeAttributes) => void): MarkupEvents {
  return {
    include: (include) => {
      discover(include);
      return true;
    },
    slot: () => false,
    waiting: () => true,
    inline: (include) => {
      discover(include);
      return Promise.resolve(new Uint8Array(0));
    },
  };
}

const SLASH = 0x2f;
const BANG = 0x21;
const DASH = 0x2d;

/** Raw text: `inlines` when it is an element's (a script's, say), not esi:remove's. */
type Mode = { kind: 'text' } | { kind: 'comment' } | { kind: 'raw'; until: string; inlines: boolean };

/** Where a construct starting at `<` ended: after its `>`, or not within the bytes scanned so far. */
type Step = { complete: true; next: number } | { complete: false };

const ESI_INCLUDE = 'esi:include';

export class MarkupScanner {
  private mode: Mode = { kind: 'text' };
  /** Bytes of a construct that the last chunk ended inside, scanned again with the next chunk. */
  private readonly carry = new Carry();
  /** Whether those bytes went out already (a tag that may be a marker), or were held back (an include to inline). */
  private carryEmitted = true;
  /** A tag too long to carry was let go in the last chunk: where that chunk ended is unknown. */
  private lostTrack = false;
  /** Whether the next `</body>` still gets a BODY_END before it. */
  private holdBodyEnd: boolean;

  constructor(
    private readonly events: MarkupEvents,
    /** Whether `<esi:…>` is processed on this page; data-slot markers always are. */
    private readonly esi: boolean,
    /**
     * An out-of-order page: every tag is followed in these open elements, and
     * the page's `</body>` gets a BODY_END before it.
     */
    private readonly elements?: OpenElements,
  ) {
    this.holdBodyEnd = elements !== undefined;
  }

  /**
   * Whether the bytes handed out so far end where markup may be inserted: in
   * text, not inside a tag, comment or raw-text element, and where a template
   * lands in the body (see OpenElements).
   */
  get atSafePoint(): boolean {
    if (this.mode.kind !== 'text' || this.lostTrack) return false;
    if (this.carry.length > 0 && this.carryEmitted) return false;
    return this.elements?.templateSafe ?? true;
  }

  /** The chunk, cut before every marker tag that starts in it, after reporting the markers. */
  pieces(chunk: Uint8Array): Piece[] {
    // A data-slot page whose fragments have all settled (cache hits, say) has nothing left to find: the rest goes through unscanned.
    if (!this.esi && !this.elements && !this.events.waiting()) return [chunk];
    // Bytes at the front that went out with the last chunk already.
    const carried = this.carryEmitted ? this.carry.length : 0;
    const view = this.carry.join(chunk);
    const { bytes, text } = view;
    const inlined: Inline[] = [];
    let end = bytes.length;
    this.lostTrack = false;
    const cuts: number[] = [];
    const hold: { at?: number } = {};
    let at = 0;
    while (at < bytes.length) {
      const mode = this.mode;
      if (mode.kind === 'comment') {
        const end = commentEnd(text, at);
        if (end === -1) {
          this.keep(view, commentTail(text, at));
          break;
        }
        this.mode = { kind: 'text' };
        at = end;
        continue;
      }
      const lt = text.indexOf('<', at);
      if (lt === -1) break;
      if (mode.kind === 'raw') {
        const closes = closesRawText(text, lt, mode.until);
        if (closes === undefined) {
          // Too short to tell; where an include may be inlined, it is held back rather than sent.
          const inlines = mode.inlines && this.esi;
          if (inlines) end = lt;
          this.keep(view, lt, !inlines);
          break;
        }
        if (closes) {
          this.mode = { kind: 'text' };
          at = lt;
          continue;
        }
        const include = mode.inlines && this.esi ? this.rawInclude(view, lt) : undefined;
        if (include === 'unfinished') {
          // Held back, not sent: the whole tag is replaced once it has arrived.
          end = lt;
          this.keep(view, lt, false);
          break;
        }
        if (include) {
          inlined.push({ from: lt - carried, to: include.end - carried, bytes: this.events.inline(include.attributes) });
          at = include.end;
          continue;
        }
        at = lt + 1;
        continue;
      }
      const step = this.construct(view, lt, cuts, carried, hold);
      if (!step.complete) {
        if (this.carry.fits(view, lt)) {
          if (this.elements) {
            // Held back whole, so the bytes sent end in text, where an out-of-order template may follow.
            end = lt;
            this.keep(view, lt, false);
            break;
          }
          if (lt >= carried) cuts.push(lt - carried); // Let what comes before it through now.
          this.keep(view, lt);
          break;
        }
        this.lostTrack = true;
        at = lt + 1; // A tag this long is let go: the rewriter still sees it.
        continue;
      }
      at = step.next;
    }
    return split(bytes.subarray(carried, end), cuts, inlined, hold.at);
  }

  /**
   * The origin body ended: bytes still held back (an unfinished tag on an
   * out-of-order page, an include cut off inside a script) go out as they
   * are, for the rewriter to read as the page left them. Bytes only kept to
   * scan again went out already.
   */
  end(): Piece[] {
    const held = this.carry.take();
    const sent = this.carryEmitted;
    this.carryEmitted = true;
    return sent || held.length === 0 ? [] : [held];
  }

  /** An `<esi:include>` tag at `<` inside raw text; 'unfinished' when the bytes may end inside one. */
  private rawInclude(view: View, lt: number): { end: number; attributes: IncludeAttributes } | 'unfinished' | undefined {
    const { text } = view;
    const name = { start: lt + 1, end: Math.min(lt + 1 + ESI_INCLUDE.length, text.length) };
    if (!isNamed(text, name, ESI_INCLUDE.slice(0, name.end - name.start))) return undefined;
    if (name.end - name.start < ESI_INCLUDE.length) return 'unfinished';
    const tag = readTag(text, lt);
    if (!tag) return this.carry.fits(view, lt) ? 'unfinished' : undefined;
    if (!isNamed(text, tag.name, ESI_INCLUDE)) return undefined;
    return { end: tag.end, attributes: includeAttributes(view, tag) };
  }

  /** Reads the construct at `<`; notes a cut before a marker tag that starts in this chunk. */
  private construct(view: View, lt: number, cuts: number[], carried: number, hold: { at?: number }): Step {
    const { text } = view;
    if (lt + 1 >= text.length) return { complete: false };
    const next = text.charCodeAt(lt + 1);
    if (next === BANG) {
      if (lt + 4 > text.length) return { complete: false };
      if (text.charCodeAt(lt + 2) === DASH && text.charCodeAt(lt + 3) === DASH) {
        this.mode = { kind: 'comment' };
        return { complete: true, next: lt + 4 };
      }
      return declaration(text, lt);
    }
    if (next === SLASH) {
      if (lt + 2 >= text.length) return { complete: false };
      if (!isLetter(text.charCodeAt(lt + 2))) return declaration(text, lt);
      const tag = readTag(text, lt);
      if (!tag) return { complete: false };
      if (this.elements) this.endTag(tagName(text, tag), lt, cuts, carried, hold);
      return { complete: true, next: tag.end };
    }
    if (!isLetter(next)) return { complete: true, next: lt + 1 };
    const tag = readTag(text, lt);
    if (!tag) return { complete: false };
    // Before the marker is reported: a data-slot's content is inside its own element.
    const include = this.esi && isNamed(text, tag.name, ESI_INCLUDE);
    const slot = include ? null : rawAttribute(view, tag, 'data-slot');
    this.elements?.start(tagName(text, tag), tag.selfClosing, slot !== null);
    if (this.report(view, tag, include, slot) && lt >= carried) cuts.push(lt - carried);
    const raw = RAW_TEXT_ELEMENTS.find((name) => isNamed(text, tag.name, name));
    if (raw) this.mode = { kind: 'raw', until: raw, inlines: true };
    else if (this.esi && !tag.selfClosing && isNamed(text, tag.name, 'esi:remove')) this.mode = { kind: 'raw', until: 'esi:remove', inlines: false };
    return { complete: true, next: tag.end };
  }

  /** An end tag (`name` lower-cased) at `lt` on an out-of-order page: followed in the open elements; the first `</body>` is held. */
  private endTag(name: string, lt: number, cuts: number[], carried: number, hold: { at?: number }): void {
    if (name === 'body' && this.holdBodyEnd && lt >= carried) {
      this.holdBodyEnd = false;
      cuts.push(lt - carried);
      hold.at = lt - carried;
    }
    this.elements?.end(name);
  }

  /** Reports the tag if it is a marker; whether the rewriter will wait there. */
  private report(view: View, tag: Tag, include: boolean, slot: string | null): boolean {
    if (include) return this.events.include(includeAttributes(view, tag));
    return slot !== null && this.events.slot(slot);
  }

  private keep(view: View, from: number, emitted = true): void {
    this.carry.hold(view, from);
    this.carryEmitted = emitted;
  }
}

function includeAttributes(view: View, tag: Tag): IncludeAttributes {
  return readIncludeAttributes((name) => rawAttribute(view, tag, name));
}

/** A doctype, a `<!…>` or a bogus end tag: it ends at its first `>`. */
function declaration(text: string, lt: number): Step {
  const next = declarationEnd(text, lt);
  return next === -1 ? { complete: false } : { complete: true, next };
}

/** An include inlined in raw text: the bytes it spans, and what replaces them. */
interface Inline {
  from: number;
  to: number;
  bytes: Promise<Uint8Array>;
}

/** The chunk cut at `cuts`, with the inlined includes in place, and BODY_END at `bodyEnd` (one of the cuts). */
function split(chunk: Uint8Array, cuts: number[], inlined: Inline[], bodyEnd?: number): Piece[] {
  if (cuts.length === 0 && inlined.length === 0) return [chunk];
  const pieces: Piece[] = [];
  let start = 0;
  let next = 0;
  const upTo = (cut: number) => {
    if (cut > start) pieces.push(chunk.subarray(start, cut));
    start = Math.max(start, cut);
    if (cut === bodyEnd) pieces.push(BODY_END);
  };
  for (const cut of cuts) {
    while (next < inlined.length && inlined[next].from < cut) {
      upTo(inlined[next].from);
      pieces.push(inlined[next].bytes);
      start = inlined[next++].to;
    }
    upTo(cut);
  }
  for (; next < inlined.length; next++) {
    upTo(inlined[next].from);
    pieces.push(inlined[next].bytes);
    start = inlined[next].to;
  }
  if (start < chunk.length) pieces.push(chunk.subarray(start));
  return pieces;
}
