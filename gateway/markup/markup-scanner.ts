import type { IncludeAttributes } from '../contract/types';
import { concatBytes } from '../lib/concat-bytes';
import type { OpenElements } from './open-elements';
import { INCLUDE_ATTRIBUTES, readIncludeAttributes } from './page-esi';

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
 * It is not an HTML parser, only enough of a tokenizer to stay in step with
 * one: it knows tags and their quoted attributes, comments, raw-text elements
 * (`<script>`, `<style>`, …) and, when ESI is on, `<esi:remove>`. The
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

const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const DASH = 0x2d;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;

/** An unfinished tag is carried into the next chunk up to this size; past it, the scanner lets it go. */
const MAX_CARRY = 16 * 1024;

/** Raw text: `inlines` when it is an element's (a script's, say), not esi:remove's. */
type Mode = { kind: 'text' } | { kind: 'comment' } | { kind: 'raw'; until: Uint8Array; inlines: boolean };

/** Where a construct starting at `<` ended: after its `>`, or not within the bytes scanned so far. */
type Step = { complete: true; next: number } | { complete: false };

const decoder = new TextDecoder();
/** windows-1252: one character per byte, so string offsets are byte offsets. */
const SINGLE_BYTE = new TextDecoder('latin1');
const encoder = new TextEncoder();
const ESI_INCLUDE = encoder.encode('esi:include');
const ESI_REMOVE = encoder.encode('esi:remove');
const DATA_SLOT = encoder.encode('data-slot');
/** The include attributes' names as bytes, encoded once rather than for every include. */
const INCLUDE_NAMES = new Map<string, Uint8Array>(INCLUDE_ATTRIBUTES.map((name) => [name, encoder.encode(name)]));

/** Elements whose content is text to the tokenizer: no tags, no markers inside. */
const RAW_TEXT = ['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes'].map((name) => encoder.encode(name));

export class MarkupScanner {
  private mode: Mode = { kind: 'text' };
  /** Bytes of a construct that the last chunk ended inside, scanned again with the next chunk. */
  private carry: Uint8Array = new Uint8Array(0);
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
    const bytes = this.carry.length ? concatBytes(this.carry, chunk) : chunk;
    // Bytes at the front that went out with the last chunk already.
    const carried = this.carryEmitted ? this.carry.length : 0;
    const inlined: Inline[] = [];
    let end = bytes.length;
    // The same bytes as a one-byte-per-character string: V8 searches strings many times faster than typed arrays.
    const text = SINGLE_BYTE.decode(bytes);
    this.carry = new Uint8Array(0);
    this.lostTrack = false;
    const cuts: number[] = [];
    const hold: { at?: number } = {};
    let at = 0;
    while (at < bytes.length) {
      const mode = this.mode;
      if (mode.kind === 'comment') {
        const end = commentEnd(bytes, text, at);
        if (end === -1) {
          this.keep(bytes, Math.max(at, bytes.length - 2));
          break;
        }
        this.mode = { kind: 'text' };
        at = end;
        continue;
      }
      const lt = text.indexOf('<', at);
      if (lt === -1) break;
      if (mode.kind === 'raw') {
        const closes = closesRawText(bytes, lt, mode.until);
        if (closes === undefined) {
          // Too short to tell; where an include may be inlined, it is held back rather than sent.
          const inlines = mode.inlines && this.esi;
          if (inlines) end = lt;
          this.keep(bytes, lt, !inlines);
          break;
        }
        if (closes) {
          this.mode = { kind: 'text' };
          at = lt;
          continue;
        }
        const include = mode.inlines && this.esi ? this.rawInclude(bytes, text, lt) : undefined;
        if (include === 'unfinished') {
          // Held back, not sent: the whole tag is replaced once it has arrived.
          end = lt;
          this.keep(bytes, lt, false);
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
      const step = this.construct(bytes, text, lt, cuts, carried, hold);
      if (!step.complete) {
        if (bytes.length - lt <= MAX_CARRY) {
          if (this.elements) {
            // Held back whole, so the bytes sent end in text, where an out-of-order template may follow.
            end = lt;
            this.keep(bytes, lt, false);
            break;
          }
          if (lt >= carried) cuts.push(lt - carried); // Let what comes before it through now.
          this.keep(bytes, lt);
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

  /** An `<esi:include>` tag at `<` inside raw text; 'unfinished' when the bytes may end inside one. */
  private rawInclude(bytes: Uint8Array, text: string, lt: number): { end: number; attributes: IncludeAttributes } | 'unfinished' | undefined {
    const name = { start: lt + 1, end: Math.min(lt + 1 + ESI_INCLUDE.length, bytes.length) };
    if (!named(bytes, name, ESI_INCLUDE.subarray(0, name.end - name.start))) return undefined;
    if (name.end - name.start < ESI_INCLUDE.length) return 'unfinished';
    const tag = readTag(bytes, text, lt);
    if (!tag) return bytes.length - lt <= MAX_CARRY ? 'unfinished' : undefined;
    if (!named(bytes, tag.name, ESI_INCLUDE)) return undefined;
    return { end: tag.end, attributes: includeAttributes(bytes, tag) };
  }

  /** Reads the construct at `<`; notes a cut before a marker tag that starts in this chunk. */
  private construct(bytes: Uint8Array, text: string, lt: number, cuts: number[], carried: number, hold: { at?: number }): Step {
    if (lt + 1 >= bytes.length) return { complete: false };
    const next = bytes[lt + 1];
    if (next === BANG) {
      if (lt + 4 > bytes.length) return { complete: false };
      if (bytes[lt + 2] === DASH && bytes[lt + 3] === DASH) {
        this.mode = { kind: 'comment' };
        return { complete: true, next: lt + 4 };
      }
      return tagEnd(text, lt);
    }
    if (next === SLASH) {
      const step = tagEnd(text, lt);
      if (step.complete && this.elements) this.endTag(bytes, text, lt, cuts, carried, hold);
      return step;
    }
    if (!isLetter(next)) return { complete: true, next: lt + 1 };
    const tag = readTag(bytes, text, lt);
    if (!tag) return { complete: false };
    // Before the marker is reported: a data-slot's content is inside its own element.
    const include = this.esi && named(bytes, tag.name, ESI_INCLUDE);
    const slot = include ? null : attributeValue(bytes, tag, DATA_SLOT);
    this.elements?.start(text.slice(tag.name.start, tag.name.end).toLowerCase(), tag.selfClosing, slot !== null);
    if (this.report(bytes, tag, include, slot) && lt >= carried) cuts.push(lt - carried);
    const raw = RAW_TEXT.find((name) => named(bytes, tag.name, name));
    if (raw) this.mode = { kind: 'raw', until: raw, inlines: true };
    else if (this.esi && !tag.selfClosing && named(bytes, tag.name, ESI_REMOVE)) this.mode = { kind: 'raw', until: ESI_REMOVE, inlines: false };
    return { complete: true, next: tag.end };
  }

  /** An end tag at `<` on an out-of-order page: followed in the open elements; the first `</body>` is held. */
  private endTag(bytes: Uint8Array, text: string, lt: number, cuts: number[], carried: number, hold: { at?: number }): void {
    let i = lt + 2;
    while (i < bytes.length && !isSpace(bytes[i]) && bytes[i] !== SLASH && bytes[i] !== GT) i++;
    const name = text.slice(lt + 2, i).toLowerCase();
    if (name === 'body' && this.holdBodyEnd && lt >= carried) {
      this.holdBodyEnd = false;
      cuts.push(lt - carried);
      hold.at = lt - carried;
    }
    this.elements?.end(name);
  }

  /** Reports the tag if it is a marker; whether the rewriter will wait there. */
  private report(bytes: Uint8Array, tag: Tag, include: boolean, slot: string | null): boolean {
    if (include) return this.events.include(includeAttributes(bytes, tag));
    return slot !== null && this.events.slot(slot);
  }

  private keep(bytes: Uint8Array, from: number, emitted = true): void {
    this.carry = bytes.slice(from);
    this.carryEmitted = emitted;
  }
}

interface Span {
  start: number;
  end: number;
}

interface Tag {
  name: Span;
  attributes: Array<{ name: Span; value: Span | null }>;
  selfClosing: boolean;
  /** Just after the closing `>`. */
  end: number;
}

/** A start tag at `<`, its attributes as the HTML tokenizer splits them; null if the bytes end inside it. */
function readTag(bytes: Uint8Array, text: string, lt: number): Tag | null {
  const length = bytes.length;
  let i = lt + 1;
  while (i < length && !isSpace(bytes[i]) && bytes[i] !== SLASH && bytes[i] !== GT) i++;
  const tag: Tag = { name: { start: lt + 1, end: i }, attributes: [], selfClosing: false, end: 0 };
  for (;;) {
    while (i < length && (isSpace(bytes[i]) || bytes[i] === SLASH)) {
      tag.selfClosing = bytes[i] === SLASH;
      i++;
    }
    if (i >= length) return null;
    if (bytes[i] === GT) {
      tag.end = i + 1;
      return tag;
    }
    tag.selfClosing = false;
    const nameStart = i;
    // The first character of a name may be `=`; after that it ends the name.
    i++;
    while (i < length && !isSpace(bytes[i]) && bytes[i] !== SLASH && bytes[i] !== GT && bytes[i] !== EQUALS) i++;
    const name = { start: nameStart, end: i };
    while (i < length && isSpace(bytes[i])) i++;
    if (i >= length) return null;
    if (bytes[i] !== EQUALS) {
      tag.attributes.push({ name, value: null });
      continue;
    }
    i++;
    while (i < length && isSpace(bytes[i])) i++;
    if (i >= length) return null;
    const quote = bytes[i];
    if (quote === QUOTE || quote === APOSTROPHE) {
      const close = text.indexOf(quote === QUOTE ? '"' : "'", i + 1);
      if (close === -1) return null;
      tag.attributes.push({ name, value: { start: i + 1, end: close } });
      i = close + 1;
      continue;
    }
    const start = i;
    while (i < length && !isSpace(bytes[i]) && bytes[i] !== GT) i++;
    tag.attributes.push({ name, value: { start, end: i } });
  }
}

function includeAttributes(bytes: Uint8Array, tag: Tag): IncludeAttributes {
  return readIncludeAttributes((name) => attributeValue(bytes, tag, INCLUDE_NAMES.get(name) ?? encoder.encode(name)));
}

/** The raw value of the first attribute called `name` (lower-case), as HTMLRewriter's getAttribute returns it. */
function attributeValue(bytes: Uint8Array, tag: Tag, name: Uint8Array): string | null {
  for (const attribute of tag.attributes) {
    if (!named(bytes, attribute.name, name)) continue;
    return attribute.value ? decoder.decode(bytes.subarray(attribute.value.start, attribute.value.end)) : '';
  }
  return null;
}

/** Whether the bytes in `span` are `name` (lower-case ASCII), ignoring case; no string is made. */
function named(bytes: Uint8Array, span: Span, name: Uint8Array): boolean {
  if (span.end - span.start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((bytes[span.start + i] | 0x20) !== (name[i] | 0x20)) return false;
  return true;
}

/** After the `>` of an end tag, a doctype or another `<!…>`; quotes do not count there. */
function tagEnd(text: string, lt: number): Step {
  const gt = text.indexOf('>', lt);
  return gt === -1 ? { complete: false } : { complete: true, next: gt + 1 };
}

/** Just after the `-->` that ends a comment whose body starts at `from`; -1 if it does not end here. */
function commentEnd(bytes: Uint8Array, text: string, from: number): number {
  for (let gt = text.indexOf('>', from); gt !== -1; gt = text.indexOf('>', gt + 1)) {
    if (gt - from >= 2 && bytes[gt - 1] === DASH && bytes[gt - 2] === DASH) return gt + 1;
  }
  return -1;
}

/** Whether the `<` at `lt` starts `</name` followed by a delimiter; undefined if the bytes end too soon to tell. */
function closesRawText(bytes: Uint8Array, lt: number, name: Uint8Array): boolean | undefined {
  const after = lt + 2 + name.length;
  for (let i = lt + 1; i < Math.min(after, bytes.length); i++) {
    const expected = i === lt + 1 ? SLASH : name[i - lt - 2];
    if ((bytes[i] | (i === lt + 1 ? 0 : 0x20)) !== expected) return false;
  }
  if (after >= bytes.length) return undefined;
  const delimiter = bytes[after];
  return isSpace(delimiter) || delimiter === SLASH || delimiter === GT;
}

function isLetter(byte: number): boolean {
  const folded = byte | 0x20;
  return folded >= 0x61 && folded <= 0x7a;
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x09 || byte === 0x0c || byte === 0x0d;
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
