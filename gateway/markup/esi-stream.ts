import type { TryBlock } from '../contract/fragment-source';
import { concatBytes } from '../lib/concat-bytes';
import type { EsiVariables } from '../request/esi-variables';
import { evaluate } from './esi-expression';
import { substitute } from './esi-interpolate';
import { HtmlContext } from './html-context';
import { escapeFor } from './landing-escape';
import { Carry, decodedAttribute, readTag, singleByte, type Tag, tagName, type View } from './tokenizer';

export { decodeEntities } from './tokenizer';

/**
 * The ESI language, applied to the page's bytes as they stream, before the
 * assembling rewriter sees them. What it leaves is markup plus
 * `<esi:include>` tags (which the rewriter fills) and `<tessera-try>`
 * placeholders for `<esi:try>` blocks:
 *
 * - `<esi:remove>`, paired or self-closing, and whatever it holds, is
 *   dropped. `<esi:comment>` is an empty element (ESI 1.0 §3.5): the tag goes
 *   however it ends (`/>`, `/ >`, `>`), and what follows stays, as Varnish
 *   does; a stray `</esi:comment>` or `</esi:include>` goes too.
 * - `<!--esi … -->` loses its wrapper; what it holds is processed.
 * - `<esi:choose>`: the first `<esi:when test>` that holds renders (unwrapped),
 *   else `<esi:otherwise>`; the other branches are dropped unread, so the
 *   includes in them are never fetched. Whatever sits between the branches
 *   goes. `$(…)` in the branch taken is substituted as inside `<esi:vars>`
 *   (as Ledge and cloudflare-esi do).
 * - `<esi:vars>`: `$(…)` inside it is replaced by the value encoded for
 *   where it lands in the markup (text, an attribute of some kind, a script, a
 *   style sheet, a comment: see landing-escape.ts), or left out where no
 *   encoding is safe. What this pass emits is followed by an HtmlContext for
 *   that: it is the markup the browser reads.
 * - `<esi:try>` is held until it ends (it is small: a few includes), and
 *   handed to the rewriter whole, as a placeholder, since which branch renders
 *   depends on how its includes fare.
 * - Any other `<esi:…>` tag is dropped, its content kept: a browser never
 *   receives a raw ESI tag.
 *
 * Everything else passes through as the bytes that arrived. HTML comments
 * and `<![CDATA[ … ]]>` sections are passed over (ESI inside them is not
 * processed, ESI 1.0 §3.7; a `</esi:remove>` inside CDATA does not end the
 * remove, as in Varnish). A construct cut by a chunk boundary is carried into
 * the next chunk.
 */
export interface EsiStreamOptions {
  variables: EsiVariables;
  /** Where a `<esi:when test>` that does not parse is reported. */
  onError: (message: string) => void;
  /** A `<esi:try>` block was held whole, its branches ESI already applied: the in-band instruction to leave in its place. */
  onTry: (block: TryBlock) => string;
}

/** An open `<esi:choose>`: whether a branch was taken, and whether the bytes now read are inside that branch. */
type Frame = { kind: 'choose'; matched: boolean; inBranch: boolean };

/** A `<esi:try>` larger than this is not held: its attempt renders and its except is dropped. */
const MAX_TRY = 256 * 1024;
const UTF8 = new TextDecoder();
const encoder = new TextEncoder();
const CONSTRUCT = /<\/?esi:|<!--|<!\[CDATA\[|\$\(|-->/gi;
/** ESI elements that are always empty: their tag never opens content, and their end tag is a stray. */
const EMPTY_ELEMENTS = new Set(['esi:include', 'esi:comment']);
/** Only includes (self-closing or not) and plain markup: nothing to apply. */
const ANY_LANGUAGE = /<esi:(?!include\b)|<\/esi:|<!--esi/i;

/** Whether markup holds any ESI beyond `<esi:include>` tags: only then does this pass change a byte of it. */
export function hasEsiLanguage(text: string): boolean {
  return ANY_LANGUAGE.test(text);
}

/** Where scanning goes on after a construct, and whether its bytes pass through with the markup around them. */
type Step = { next: number; passes: boolean };

export class EsiStream {
  /** A construct cut off by the chunk end; one longer than MAX_CARRY (tokenizer.ts) passes through as text. */
  private readonly carry = new Carry();
  private readonly frames: Frame[] = [];
  /** >0 while dropping a construct's content: its nesting depth in ESI elements. */
  private dropping = 0;
  private varsDepth = 0;
  private esiComments = 0;
  /** Inside an HTML comment or a CDATA section cut by the chunk end: what ends it (`-->`, `]]>`). */
  private opaqueUntil: string | undefined;
  /** The raw bytes of a `<esi:try>` being held, and its nesting depth. */
  private held: Uint8Array[] | undefined;
  private heldBytes = 0;
  private tryDepth = 0;
  /** Where the held `<esi:try>` stands in the markup: its branches are read from there. */
  private tryContext: HtmlContext | undefined;
  private out: Uint8Array[] = [];

  constructor(
    private readonly options: EsiStreamOptions,
    private readonly context = new HtmlContext(),
    /** Why values were refused, each reported once. */
    private readonly refusals = new Set<string>(),
  ) {}

  /** The chunk with the ESI language applied; bytes that end inside a construct wait for the next chunk. */
  transform(chunk: Uint8Array): Uint8Array[] {
    const view = this.carry.join(chunk);
    const { bytes, text } = view;
    if (this.idle() && !ANY_LANGUAGE.test(text) && !endsInsideOpaque(text)) {
      const tail = partialOpener(text, 0, false, false);
      // The common case: a page with includes only. A chunk that may end inside an opener keeps those bytes back.
      this.context.feed(tail === text.length ? text : text.slice(0, tail));
      if (tail === text.length) return [bytes];
      this.carry.hold(view, tail);
      return [bytes.subarray(0, tail)];
    }
    this.out = [];
    let runFrom = 0;
    let at = 0;
    for (;;) {
      if (this.opaqueUntil) {
        const end = text.indexOf(this.opaqueUntil, at);
        if (end === -1) {
          const keep = Math.max(at, text.length - 2);
          this.emit(bytes, text, runFrom, keep);
          this.carry.hold(view, keep);
          return this.out;
        }
        this.opaqueUntil = undefined;
        at = end + 3;
        continue;
      }
      CONSTRUCT.lastIndex = at;
      const match = CONSTRUCT.exec(text);
      if (!match) {
        const tail = partialOpener(text, at, this.substituting(), this.esiComments > 0);
        this.emit(bytes, text, runFrom, tail);
        this.carry.hold(view, tail);
        return this.out;
      }
      const position = match.index;
      const token = match[0];
      if (token === '$(' && !(this.substituting() && this.dropping === 0 && !this.held)) {
        at = position + 2;
        continue;
      }
      if (token === '-->' && this.esiComments === 0) {
        at = position + 3;
        continue;
      }
      // What came before goes out under the state it was read in; the construct may change that state.
      this.emit(bytes, text, runFrom, position);
      runFrom = position;
      const step = this.construct(view, position, token);
      if (!step) {
        if (!this.carry.fits(view, position)) {
          // Too long to be a construct worth carrying: it passes as text.
          runFrom = position;
          at = position + 1;
          continue;
        }
        this.carry.hold(view, position);
        return this.out;
      }
      if (!step.passes) runFrom = step.next;
      at = step.next;
    }
  }

  /** Whatever was carried at the end of the stream. */
  flush(): Uint8Array[] {
    this.out = [];
    if (this.held) {
      // A try that never ended: its attempt renders.
      const block = UTF8.decode(concatBytes(this.held));
      this.held = undefined;
      this.text(this.applyTo(block.replace(/<esi:attempt\b[^>]*>/i, ''), this.tryContext));
    }
    const rest = this.carry.take();
    if (rest.length && this.dropping === 0) {
      this.out.push(rest);
      this.context.feed(singleByte(rest));
    }
    return this.out;
  }

  /** The ESI language applied to a whole piece of markup (a held branch, a fragment), read from where it stands in the page. */
  applyTo(html: string, context = new HtmlContext()): string {
    const nested = new EsiStream(this.options, context.clone(), this.refusals);
    return UTF8.decode(concatBytes([...nested.transform(encoder.encode(html)), ...nested.flush()]));
  }

  private idle(): boolean {
    return this.dropping === 0 && this.varsDepth === 0 && this.esiComments === 0 && !this.opaqueUntil && !this.held && this.frames.length === 0;
  }

  /** Whether `$(…)` is substituted here: inside `<esi:vars>`, or in the branch of an `<esi:choose>` that was taken. */
  private substituting(): boolean {
    return this.varsDepth > 0 || this.frames.some((frame) => frame.inBranch);
  }

  private emit(bytes: Uint8Array, text: string, from: number, to: number): void {
    if (to <= from) return;
    if (this.held) this.hold(bytes.subarray(from, to));
    else if (this.dropping === 0 && !this.betweenBranches()) {
      this.out.push(bytes.subarray(from, to));
      this.context.feed(text.slice(from, to));
    }
  }

  /** Inside `<esi:choose>` but outside its branches: only whitespace belongs there, and it goes too. */
  private betweenBranches(): boolean {
    const frame = this.frames.at(-1);
    return frame !== undefined && !frame.inBranch;
  }

  private text(value: string): void {
    if (this.held) this.hold(encoder.encode(value));
    else if (this.dropping === 0 && !this.betweenBranches()) {
      this.out.push(encoder.encode(value));
      this.context.feed(value);
    }
  }

  /** A `$(…)` reference, its value encoded for where it lands, or left out where nothing would be safe. */
  private substitute(reference: string): string {
    const landing = this.context.landing();
    return substitute(reference, this.options.variables, (value) => {
      const escaped = escapeFor(landing, value);
      if (escaped.ok) return escaped.text;
      if (value && !this.refusals.has(escaped.reason)) {
        this.refusals.add(escaped.reason);
        this.options.onError(`esi:vars ${reference} is left out: ${escaped.reason}`);
      }
      return '';
    });
  }

  /** Acts on the construct at `at`; undefined when the bytes end inside it. */
  private construct(view: View, at: number, token: string): Step | undefined {
    const { bytes, text } = view;
    if (token === '$(') {
      const end = text.indexOf(')', at);
      if (end === -1) return text.length - at > 512 ? { next: at + 2, passes: true } : undefined;
      this.text(this.substitute(UTF8.decode(bytes.subarray(at, end + 1))));
      return { next: end + 1, passes: false };
    }
    if (token === '-->') {
      if (this.held) return { next: at + 3, passes: true };
      this.esiComments--;
      return { next: at + 3, passes: false };
    }
    if (token === '<!--') {
      if (text.length - at < 7) return undefined;
      if (text.slice(at + 4, at + 7).toLowerCase() === 'esi' && !this.held) {
        if (this.dropping === 0) this.esiComments++;
        return { next: at + 7, passes: false };
      }
      const end = text.indexOf('-->', at + 4);
      if (end !== -1) return { next: end + 3, passes: true };
      this.opaqueUntil = '-->';
      return { next: at + 4, passes: true };
    }
    if (token.startsWith('<![')) {
      // CDATA: its bytes are data, even an ESI tag in it; they go with the markup around them (or are dropped with it).
      const end = text.indexOf(']]>', at + 9);
      if (end !== -1) return { next: end + 3, passes: true };
      this.opaqueUntil = ']]>';
      return { next: at + 9, passes: true };
    }
    const tag = readTag(text, at);
    if (!tag) return undefined;
    const name = tagName(text, tag);
    if (this.held) return this.whileHeld(tag, name);
    if (this.dropping > 0) {
      if (EMPTY_ELEMENTS.has(name)) return { next: tag.end, passes: false };
      if (tag.closing) this.dropping--;
      else if (!tag.selfClosing) this.dropping++;
      return { next: tag.end, passes: false };
    }
    return this.act(view, tag, name);
  }

  /** The ESI tag `tag`, whose name in lower case is `name`. */
  private act(view: View, tag: Tag, name: string): Step {
    const dropped = { next: tag.end, passes: false };
    const paired = !tag.selfClosing;
    if (tag.closing) {
      if (name === 'esi:vars') this.varsDepth = Math.max(0, this.varsDepth - 1);
      if (name === 'esi:choose') this.frames.pop();
      if (name === 'esi:when' || name === 'esi:otherwise') {
        const frame = this.frames.at(-1);
        if (frame) frame.inBranch = false;
      }
      return dropped; // End tags of unwrapped elements, and strays (`</esi:include>`), go.
    }
    switch (name) {
      case 'esi:include':
        return { next: tag.end, passes: true };
      case 'esi:remove':
        if (paired) this.dropping = 1;
        return dropped;
      case 'esi:comment':
        return dropped; // Always empty: `<esi:comment text="…">` without `/` does not swallow what follows.
      case 'esi:vars':
        if (paired) this.varsDepth++;
        return dropped;
      case 'esi:choose':
        if (paired) this.frames.push({ kind: 'choose', matched: false, inBranch: false });
        return dropped;
      case 'esi:when':
      case 'esi:otherwise': {
        const frame = this.frames.at(-1);
        const test = () => this.test(decodedAttribute(view, tag, 'test') ?? '');
        const taken = !!frame && !frame.matched && (name === 'esi:otherwise' || test());
        if (taken && frame) {
          frame.matched = true;
          frame.inBranch = paired;
        } else if (paired) this.dropping = 1;
        return dropped;
      }
      case 'esi:try':
        if (paired) {
          this.tryContext = this.context.clone();
          this.held = [];
          this.heldBytes = 0;
          this.tryDepth = 1;
        }
        return dropped;
      default:
        return dropped; // Unknown ESI tags go; their content stays.
    }
  }

  /** Inside a held `<esi:try>`: everything is kept raw until its end tag. */
  private whileHeld(tag: Tag, name: string): Step {
    if (name === 'esi:try' && !tag.selfClosing) this.tryDepth += tag.closing ? -1 : 1;
    if (this.tryDepth > 0) return { next: tag.end, passes: true };
    const held = this.held ?? [];
    this.held = undefined;
    // What stands in the try's place is the page's in-band instruction for it (markup/in-band.ts).
    this.text(this.options.onTry(splitTry(UTF8.decode(concatBytes(held)), (html) => this.applyTo(html, this.tryContext))));
    return { next: tag.end, passes: false };
  }

  private hold(piece: Uint8Array): void {
    this.heldBytes += piece.byteLength;
    if (this.heldBytes <= MAX_TRY) {
      this.held?.push(piece.slice());
      return;
    }
    // Too large to hold: what was held is let through as an attempt, and the except is dropped.
    this.options.onError(`an <esi:try> larger than ${MAX_TRY} bytes is not held; its attempt renders, its except does not`);
    const block = UTF8.decode(concatBytes([...(this.held ?? []), piece]));
    this.held = undefined;
    this.tryDepth = 0;
    this.text(this.applyTo(block.replace(/<esi:attempt\b[^>]*>/i, '').replace(/<esi:except\b[\s\S]*$/i, ''), this.tryContext));
    this.dropping = 0;
  }

  private test(expression: string): boolean {
    try {
      return evaluate(expression, this.options.variables);
    } catch (error) {
      this.options.onError(`esi:when test="${expression}": ${error instanceof Error ? error.message : error}; the branch is not taken`);
      return false;
    }
  }
}

/** In lower case: what may start a construct, compared with the text's tail lowered. */
const OPENERS = ['<esi:', '</esi:', '<!--esi', '<![cdata['];

/** Whether the text ends inside an HTML comment or a CDATA section that the next chunk may close over an ESI tag. */
function endsInsideOpaque(text: string): boolean {
  const comment = text.lastIndexOf('<!--');
  if (comment !== -1 && text.indexOf('-->', comment + 4) === -1) return true;
  const cdata = text.lastIndexOf('<![CDATA[');
  return cdata !== -1 && text.indexOf(']]>', cdata + 9) === -1;
}

/**
 * Where an opener this stream acts on may begin at the very end of the text,
 * cut by the chunk boundary (`<es`, `<!--e`, `<![CD`, a `$` where `$(…)` is
 * substituted); the text
 * length when none can.
 */
function partialOpener(text: string, from: number, inVars: boolean, inEsiComment: boolean): number {
  for (let at = Math.max(from, text.length - 8); at < text.length; at++) {
    const rest = text.slice(at).toLowerCase();
    if (OPENERS.some((opener) => opener.length > rest.length && opener.startsWith(rest))) return at;
    if (inVars && rest === '$') return at;
    if (inEsiComment && (rest === '-' || rest === '--')) return at;
  }
  return text.length;
}

/** The attempt and except branches of a held `<esi:try>` block, each with the ESI language applied. */
function splitTry(block: string, apply: (html: string) => string): TryBlock {
  const branch = (name: string) => {
    const open = new RegExp(`<esi:${name}\\b[^>]*>`, 'i').exec(block);
    if (!open) return '';
    const start = open.index + open[0].length;
    const close = block.toLowerCase().lastIndexOf(`</esi:${name}`);
    return close > start ? block.slice(start, close) : block.slice(start);
  };
  return { attempt: apply(branch('attempt')), except: apply(branch('except')) };
}
