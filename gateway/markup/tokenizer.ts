import { concatBytes } from '../lib/concat-bytes';

/**
 * The one markup tokenizer of the gateway's streaming passes: the ESI pass
 * (esi-stream.ts), the marker scan (markup-scanner.ts) and the landing
 * tracker (html-context.ts) read tags, comments and raw-text ends with these
 * functions, and carry a construct cut by a chunk boundary with `Carry`.
 *
 * It reads a chunk's bytes through a one-byte-per-character string view
 * (`Carry.join`): offsets in the view are byte offsets, and V8 searches a
 * string with indexOf and reads it with charCodeAt faster than it scans a
 * typed array (measured with bench/markup-tokenizer.ts). Attribute values are
 * decoded from the bytes, as UTF-8, only when asked for.
 *
 * Tags are split as HTML's tokenizer splits them (HTML whitespace only, the
 * first character of an attribute name may be `=`, the first of two
 * attributes of the same name wins), so an element's attributes read here as
 * HTMLRewriter reads them. What it does not do: character references outside
 * attribute values, the tree builder's rules. Comments end at the first
 * `-->` after `<!--` (`<!-->` does not end one here).
 */
/**
 * The most bytes of an unfinished construct a pass carries into the next
 * chunk: 16 KiB. A tag longer than that is let go (it passes as text; the
 * rewriter still sees it), so memory never grows with a malformed page.
 */
export const MAX_CARRY = 16 * 1024;

/** Elements whose content the tokenizer reads as text up to their end tag: no tags, no markers inside. */
export const RAW_TEXT_ELEMENTS = ['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes'] as const;

/** Where a part of the markup sits in a view: `start` to just before `end`. */
export interface Span {
  start: number;
  end: number;
}

export interface Attribute {
  name: Span;
  /** The raw value, quotes excluded; null when the attribute has none (`<input disabled>`). */
  value: Span | null;
}

export interface Tag {
  /** An end tag (`</name …>`). */
  closing: boolean;
  name: Span;
  /** In document order, duplicates included (the first of a name is the one that counts). */
  attributes: Attribute[];
  /** The last thing before `>` was a `/`. */
  selfClosing: boolean;
  /** Just after the closing `>`. */
  end: number;
}

/** A chunk (with what was carried into it) and the same bytes as a one-byte-per-character string. */
export interface View {
  bytes: Uint8Array;
  text: string;
}

const GT = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const EMPTY = new Uint8Array(0);
/** windows-1252: one character per byte, so string offsets are byte offsets. */
const SINGLE_BYTE = new TextDecoder('latin1');
const UTF8 = new TextDecoder();

/** The bytes of a construct one chunk ended inside, read again at the front of the next: one per pass. */
export class Carry {
  private held: Uint8Array = EMPTY;

  get length(): number {
    return this.held.length;
  }

  /** The next chunk, after whatever was held (which is let go: hold it again to keep it). */
  join(chunk: Uint8Array): View {
    const bytes = this.held.length ? concatBytes([this.held, chunk]) : chunk;
    this.held = EMPTY;
    return { bytes, text: SINGLE_BYTE.decode(bytes) };
  }

  /** Whether a construct that starts at `from` and is unfinished at the end of the view may be carried. */
  fits(view: View, from: number): boolean {
    return view.bytes.length - from <= MAX_CARRY;
  }

  /** Keeps the view's bytes from `from` on (a copy: the chunk's buffer may be reused). */
  hold(view: View, from: number): void {
    this.held = from < view.bytes.length ? view.bytes.slice(from) : EMPTY;
  }

  /** What is held, let go: the end of the stream. */
  take(): Uint8Array {
    const held = this.held;
    this.held = EMPTY;
    return held;
  }
}

/** The same bytes as `bytes`, one character per byte. */
export function singleByte(bytes: Uint8Array): string {
  return SINGLE_BYTE.decode(bytes);
}

/**
 * The start or end tag whose `<` is at `lt` (a letter, or `/` and a letter,
 * follows it), its attributes as HTML's tokenizer splits them; null when the
 * text ends inside it.
 */
export function readTag(text: string, lt: number): Tag | null {
  const length = text.length;
  let i = lt + 1;
  const closing = text.charCodeAt(i) === SLASH;
  if (closing) i++;
  const nameStart = i;
  for (let c = text.charCodeAt(i); i < length && !isSpace(c) && c !== SLASH && c !== GT; c = text.charCodeAt(++i));
  const tag: Tag = { closing, name: { start: nameStart, end: i }, attributes: [], selfClosing: false, end: 0 };
  for (;;) {
    let c = text.charCodeAt(i);
    while (i < length && (isSpace(c) || c === SLASH)) {
      tag.selfClosing = c === SLASH;
      c = text.charCodeAt(++i);
    }
    if (i >= length) return null;
    if (c === GT) {
      tag.end = i + 1;
      return tag;
    }
    tag.selfClosing = false;
    const attributeStart = i;
    // The first character of a name may be `=`; after that it ends the name.
    for (c = text.charCodeAt(++i); i < length && !isSpace(c) && c !== SLASH && c !== GT && c !== EQUALS; c = text.charCodeAt(++i));
    const name = { start: attributeStart, end: i };
    while (i < length && isSpace(c)) c = text.charCodeAt(++i);
    if (i >= length) return null;
    if (c !== EQUALS) {
      tag.attributes.push({ name, value: null });
      continue;
    }
    for (c = text.charCodeAt(++i); i < length && isSpace(c); c = text.charCodeAt(++i));
    if (i >= length) return null;
    if (c === QUOTE || c === APOSTROPHE) {
      const close = text.indexOf(c === QUOTE ? '"' : "'", i + 1);
      if (close === -1) return null;
      tag.attributes.push({ name, value: { start: i + 1, end: close } });
      i = close + 1;
      continue;
    }
    const valueStart = i;
    while (i < length && !isSpace(c) && c !== GT) c = text.charCodeAt(++i);
    tag.attributes.push({ name, value: { start: valueStart, end: i } });
  }
}

/** The tag's name in lower case. */
export function tagName(text: string, tag: Tag): string {
  return text.slice(tag.name.start, tag.name.end).toLowerCase();
}

/** Whether the text in `span` is `name` (lower-case ASCII), ignoring ASCII case; no string is made. */
export function isNamed(text: string, span: Span, name: string): boolean {
  if (span.end - span.start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((text.charCodeAt(span.start + i) | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** The first attribute called `name` (lower-case), as HTML keeps it. */
export function findAttribute(text: string, tag: Tag, name: string): Attribute | undefined {
  for (const attribute of tag.attributes) if (isNamed(text, attribute.name, name)) return attribute;
  return undefined;
}

/** The raw value of the first attribute called `name` (as HTMLRewriter's getAttribute returns it); '' when it has none, null when it is absent. */
export function rawAttribute(view: View, tag: Tag, name: string): string | null {
  const attribute = findAttribute(view.text, tag, name);
  if (!attribute) return null;
  return attribute.value ? UTF8.decode(view.bytes.subarray(attribute.value.start, attribute.value.end)) : '';
}

/** That value with its character references decoded, as the browser reads it. */
export function decodedAttribute(view: View, tag: Tag, name: string): string | null {
  const raw = rawAttribute(view, tag, name);
  return raw === null ? null : decodeEntities(raw);
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** HTML character references in an attribute value: the named ones ESI pages use, and numeric ones. */
export function decodeEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

/** Just after the `-->` that ends a comment whose body starts at `from`; -1 if it does not end in the text. */
export function commentEnd(text: string, from: number): number {
  const end = text.indexOf('-->', from);
  return end === -1 ? -1 : end + 3;
}

/** Where the bytes held at the end of an unfinished comment start: its last two, which may begin `-->`. */
export function commentTail(text: string, from: number): number {
  return Math.max(from, text.length - 2);
}

/** Just after the first `>` from `lt`: the end of a doctype, another `<!…>`, or a bogus end tag; quotes do not count there. -1 if not in the text. */
export function declarationEnd(text: string, lt: number): number {
  const gt = text.indexOf('>', lt);
  return gt === -1 ? -1 : gt + 1;
}

/**
 * Whether the `<` at `lt` starts the end tag of raw-text element `name`
 * (lower case): `</name` and then whitespace, `/` or `>` (`</titles` is not
 * one); undefined if the text ends too soon to tell.
 */
export function closesRawText(text: string, lt: number, name: string): boolean | undefined {
  const after = lt + 2 + name.length;
  const known = Math.min(after, text.length);
  if (lt + 1 < known && text.charCodeAt(lt + 1) !== SLASH) return false;
  for (let i = lt + 2; i < known; i++) if ((text.charCodeAt(i) | 0x20) !== name.charCodeAt(i - lt - 2)) return false;
  if (after >= text.length) return undefined;
  const delimiter = text.charCodeAt(after);
  return isSpace(delimiter) || delimiter === SLASH || delimiter === GT;
}

export function isLetter(code: number): boolean {
  const folded = code | 0x20;
  return folded >= 0x61 && folded <= 0x7a;
}

/** HTML's whitespace: space, tab, line feed, form feed, carriage return. */
export function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x09 || code === 0x0c || code === 0x0d;
}
