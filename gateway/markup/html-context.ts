import { closesRawText, isLetter, readTag, tagName } from './tokenizer';

/**
 * Where in the page's markup the ESI pass's output has got to, so that a
 * variable's value can be encoded for the place it lands (see
 * landing-escape.ts). It follows HTML's tokenizer, not its tree builder: tags
 * and their attributes, comments, bogus comments, `<script>` (with its escaped
 * states, which decide where the script ends), `<style>` and the other
 * raw-text and RCDATA elements, and `<svg>`/`<math>` (where only script and
 * style are still special). It is fed exactly the text the ESI pass emits, so
 * it stays in step across chunk boundaries; a tag cut by one is followed
 * character by character. Complete tags, and the ends of raw-text elements,
 * are read with the shared tokenizer (tokenizer.ts); runs of text and tags
 * that change nothing are skipped by one native regular expression, ORDINARY,
 * which is faster here than reading each tag (bench/markup-tokenizer.ts).
 */

/** How an attribute's value is read by the browser, decided by the attribute's name. */
export type AttributeKind = 'plain' | 'url' | 'srcset' | 'handler' | 'style' | 'markup';

export type Landing =
  /** Text, and the content of RCDATA and raw-text elements other than script and style. */
  | { in: 'text' }
  /** A comment, or a bogus comment (`<!doctype …>`, `<?…>`). */
  | { in: 'comment' }
  | { in: 'script' }
  | { in: 'style' }
  | { in: 'attribute'; kind: AttributeKind; quote: '"' | "'" | ''; atStart: boolean }
  /** A tag name, an attribute name, or between attributes. */
  | { in: 'tag' }
  /** Right after a `<` or `</name` that the value itself would finish. */
  | { in: 'cut' };

type Mode = 'text' | 'tag' | 'comment' | 'bogus' | 'rawtext' | 'script';
type ScriptState = 'data' | 'escaped' | 'double-escaped';
type TagPhase = 'name' | 'before-attribute' | 'attribute-name' | 'after-attribute-name' | 'before-value' | 'value' | 'after-value';

interface TagState {
  phase: TagPhase;
  closing: boolean;
  name: string;
  attribute: string;
  quote: '"' | "'" | '';
  /** Nothing but whitespace in the value so far. */
  blank: boolean;
  /** The last character read outside a value was `/`: a `>` now self-closes. */
  slash: boolean;
}

/** Elements whose content the tokenizer reads as text up to their end tag (in HTML, not in svg/math). */
const RAW_TEXT = new Set(['textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext']);
/** A tag's attributes and its `>`, as the tokenizer reads them: each part maximal, so it cannot backtrack into another reading. */
const ATTRIBUTES =
  '(?:[\\t\\n\\f\\r /]|[^\\t\\n\\f\\r />][^\\t\\n\\f\\r />=]*(?![^\\t\\n\\f\\r />=])(?:[\\t\\n\\f\\r ]*=[\\t\\n\\f\\r ]*(?:"[^"]*"|\'[^\']*\'|[^\\t\\n\\f\\r >"\'][^\\t\\n\\f\\r >]*(?![^\\t\\n\\f\\r >])|(?=>))|(?![\\t\\n\\f\\r ]*=)))*>';
const TAG_NAME = '[A-Za-z][^\\t\\n\\f\\r />]*(?![^\\t\\n\\f\\r />])';
/** Elements after whose tags the tokenizer reads differently (or may: in svg and math). */
const SPECIAL = '(?:script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext|svg|math)(?![^\\t\\n\\f\\r />])';
/**
 * A run of text and complete tags that change nothing, read in one native
 * pass: what a page is mostly made of. It stops before anything else (a
 * comment, a special element's tag, a tag the text ends inside).
 */
const ORDINARY = new RegExp(`(?:[^<]+|<(?=[^A-Za-z/!?])|</?(?!${SPECIAL})${TAG_NAME}${ATTRIBUTES})*`, 'iy');
const COMMENT_END = /--!?>/g;
const SCRIPT_TOKENS: Record<ScriptState, RegExp> = {
  data: /<!--|<\/script[\t\n\f\r />]/gi,
  escaped: /-->|<\/script[\t\n\f\r />]|<script[\t\n\f\r />]/gi,
  'double-escaped': /-->|<\/script[\t\n\f\r />]/gi,
};
const SCRIPT_WORDS: Record<ScriptState, string[]> = {
  data: ['<!--', '</script'],
  escaped: ['-->', '</script', '<script'],
  'double-escaped': ['-->', '</script'],
};
const WHITESPACE = /^[\t\n\f\r ]*$/;
const URL_ATTRIBUTES = new Set([
  'action',
  'archive',
  'background',
  'cite',
  'classid',
  'codebase',
  'data',
  'formaction',
  'href',
  'icon',
  'longdesc',
  'manifest',
  'ping',
  'poster',
  'profile',
  'src',
  'usemap',
  'xmlns',
]);

export function attributeKind(name: string): AttributeKind {
  if (name.startsWith('on')) return 'handler';
  if (name === 'style') return 'style';
  // `srcdoc` is markup; a meta's `content` may be a refresh's redirect (`0;url=…`), which Go's html/template refuses too.
  if (name === 'srcdoc' || name === 'content') return 'markup';
  if (name === 'srcset' || name === 'imagesrcset') return 'srcset';
  // As Go's html/template: an attribute named like a URL is read as one (data-src, xlink:href, …).
  if (URL_ATTRIBUTES.has(name) || /src|uri|url|href/.test(name)) return 'url';
  return 'plain';
}

export class HtmlContext {
  private mode: Mode = 'text';
  /** Text read but not yet judged: the start of a construct the next text will finish. */
  private pending = '';
  private tag: TagState = newTag(false);
  /** The element whose end tag closes raw text. */
  private rawText = '';
  private script: ScriptState = 'data';
  /** Open `<svg>`/`<math>` elements. */
  private foreign = 0;

  clone(): HtmlContext {
    const copy = new HtmlContext();
    Object.assign(copy, this, { tag: { ...this.tag } });
    return copy;
  }

  /** Where a value emitted now would land. */
  landing(): Landing {
    switch (this.mode) {
      case 'text':
        return this.pending ? { in: 'cut' } : { in: 'text' };
      case 'rawtext':
        if (this.pending) return { in: 'cut' };
        return this.rawText === 'style' ? { in: 'style' } : { in: 'text' };
      case 'script':
        // A value escaped for script holds no `<`, `/` or `-`, but its letters could finish a `</scr` the page began
        // right before it (`"</$(x)>"` with x=script would end the script): after such a start it is cut.
        return this.pending ? { in: 'cut' } : { in: 'script' };
      case 'comment':
      case 'bogus':
        return { in: 'comment' };
      case 'tag': {
        const { phase, attribute, quote, blank } = this.tag;
        if (phase === 'before-value') return { in: 'attribute', kind: attributeKind(attribute), quote: '', atStart: true };
        if (phase === 'value') return { in: 'attribute', kind: attributeKind(attribute), quote, atStart: quote !== '' && blank };
        return { in: 'tag' };
      }
    }
  }

  /** Text the page goes on with. */
  feed(input: string): void {
    const s = this.pending ? this.pending + input : input;
    this.pending = '';
    let i = 0;
    while (i < s.length) {
      switch (this.mode) {
        case 'text':
          i = this.text(s, i);
          break;
        case 'tag':
          i = this.tagChars(s, i);
          break;
        case 'comment': {
          COMMENT_END.lastIndex = i;
          const end = COMMENT_END.exec(s);
          if (end) {
            this.mode = 'text';
            i = end.index + end[0].length;
          } else i = this.keepPartial(s, i, ['--!>', '-->']);
          break;
        }
        case 'bogus': {
          const end = s.indexOf('>', i);
          if (end === -1) return;
          this.mode = 'text';
          i = end + 1;
          break;
        }
        case 'rawtext':
          i = this.rawTextChars(s, i);
          break;
        case 'script':
          i = this.scriptChars(s, i);
          break;
      }
    }
  }

  /** Keeps the end of `s` that may begin one of `words`, and says the text is used up. */
  private keepPartial(s: string, from: number, words: string[]): number {
    const longest = Math.max(...words.map((word) => word.length));
    for (let at = Math.max(from, s.length - longest); at < s.length; at++) {
      const rest = s.slice(at).toLowerCase();
      if (words.some((word) => word.startsWith(rest))) {
        this.pending = s.slice(at);
        break;
      }
    }
    return s.length;
  }

  private text(s: string, from: number): number {
    let lt = from;
    if (this.foreign === 0) {
      ORDINARY.lastIndex = from;
      ORDINARY.exec(s);
      lt = ORDINARY.lastIndex;
    }
    lt = s.indexOf('<', lt);
    if (lt === -1) return s.length;
    if (lt + 1 >= s.length) return this.wait(s, lt);
    const next = s.charCodeAt(lt + 1);
    if (isLetter(next)) return this.openTag(s, lt, false);
    if (next === 0x2f /* / */) {
      if (lt + 2 >= s.length) return this.wait(s, lt);
      const after = s.charCodeAt(lt + 2);
      if (isLetter(after)) return this.openTag(s, lt, true);
      if (after === 0x3e /* > */) return lt + 3;
      this.mode = 'bogus';
      return lt + 2;
    }
    if (next === 0x3f /* ? */) {
      this.mode = 'bogus';
      return lt + 2;
    }
    if (next !== 0x21 /* ! */) return lt + 1;
    if (!s.startsWith('<!--', lt)) {
      if ('<!--'.startsWith(s.slice(lt, lt + 4))) return this.wait(s, lt);
      this.mode = 'bogus';
      return lt + 2;
    }
    // `<!-->` and `<!--->` are whole comments.
    const body = lt + 4;
    if (body >= s.length || (s[body] === '-' && body + 1 >= s.length)) return this.wait(s, lt);
    if (s[body] === '>') return body + 1;
    if (s.startsWith('->', body)) return body + 2;
    this.mode = 'comment';
    return body;
  }

  private wait(s: string, from: number): number {
    this.pending = s.slice(from);
    return s.length;
  }

  private openTag(s: string, lt: number, closing: boolean): number {
    const whole = readTag(s, lt);
    const name = whole ? tagName(s, whole) : undefined;
    // Where self-closing matters (svg, math, and anything inside them), the tag is read character by character.
    if (whole && name !== undefined && this.foreign === 0 && name !== 'svg' && name !== 'math') {
      if (!closing) this.opened(name, false);
      return whole.end;
    }
    this.mode = 'tag';
    this.tag = newTag(closing);
    return lt + (closing ? 2 : 1);
  }

  /** A start tag ended: what its content is. */
  private opened(name: string, selfClosing: boolean): void {
    if (name === 'svg' || name === 'math') {
      if (!selfClosing) this.foreign++;
      return;
    }
    if (this.foreign > 0 && selfClosing) return;
    if (name === 'script') {
      this.mode = 'script';
      this.script = 'data';
    } else if (name === 'style' || (this.foreign === 0 && RAW_TEXT.has(name))) {
      this.mode = 'rawtext';
      this.rawText = name;
    }
  }

  private closeTag(): void {
    const { closing, name, slash } = this.tag;
    this.mode = 'text';
    const lower = name.toLowerCase();
    if (!closing) this.opened(lower, slash);
    else if ((lower === 'svg' || lower === 'math') && this.foreign > 0) this.foreign--;
  }

  private tagChars(s: string, from: number): number {
    const tag = this.tag;
    for (let i = from; i < s.length; i++) {
      const c = s[i];
      const space = c === ' ' || c === '\n' || c === '\t' || c === '\f' || c === '\r';
      if (tag.phase === 'value') {
        if (tag.quote) {
          const close = s.indexOf(tag.quote, i);
          const end = close === -1 ? s.length : close;
          if (tag.blank && !WHITESPACE.test(s.slice(i, end))) tag.blank = false;
          if (close === -1) return s.length;
          tag.phase = 'after-value';
          tag.slash = false;
          i = close;
          continue;
        }
        if (space) tag.phase = 'before-attribute';
        else if (c === '>') {
          this.closeTag();
          return i + 1;
        }
        continue;
      }
      if (c === '>') {
        this.closeTag();
        return i + 1;
      }
      if (c === '/' && tag.phase !== 'before-value') {
        tag.phase = 'before-attribute';
        tag.slash = true;
        continue;
      }
      tag.slash = false;
      switch (tag.phase) {
        case 'name':
          if (space) tag.phase = 'before-attribute';
          else if (tag.name.length < 16) tag.name += c;
          break;
        case 'after-value':
          if (space) {
            tag.phase = 'before-attribute';
            break;
          }
          tag.phase = 'before-attribute';
          i--;
          break;
        case 'before-attribute':
          if (!space) this.startAttribute(c);
          break;
        case 'attribute-name':
          if (space) tag.phase = 'after-attribute-name';
          else if (c === '=') tag.phase = 'before-value';
          else if (tag.attribute.length < 32) tag.attribute += c.toLowerCase();
          break;
        case 'after-attribute-name':
          if (c === '=') tag.phase = 'before-value';
          else if (!space) this.startAttribute(c);
          break;
        case 'before-value':
          if (space) break;
          tag.phase = 'value';
          tag.blank = true;
          if (c === '"' || c === "'") tag.quote = c;
          else {
            tag.quote = '';
            tag.blank = false;
          }
          break;
      }
    }
    return s.length;
  }

  private startAttribute(c: string): void {
    this.tag.phase = 'attribute-name';
    this.tag.attribute = c.toLowerCase();
    this.tag.quote = '';
  }

  private rawTextChars(s: string, from: number): number {
    if (this.rawText === 'plaintext') return s.length;
    for (let lt = s.indexOf('</', from); lt !== -1; lt = s.indexOf('</', lt + 2)) {
      const closes = closesRawText(s, lt, this.rawText);
      if (closes === undefined) break;
      if (closes) {
        this.mode = 'text';
        return lt;
      }
    }
    return this.keepPartial(s, from, [`</${this.rawText}`]);
  }

  private scriptChars(s: string, from: number): number {
    const tokens = SCRIPT_TOKENS[this.script];
    tokens.lastIndex = from;
    const found = tokens.exec(s);
    // `</script` right at the end waits for the character that says whether it ends the script.
    if (!found) return this.keepPartial(s, from, SCRIPT_WORDS[this.script]);
    const token = found[0].toLowerCase();
    const at = found.index;
    if (token === '-->') {
      this.script = 'data';
      return at + 3;
    }
    if (token === '<!--') {
      this.script = 'escaped';
      // From the dashes: `<!-->` leaves the escaped state at once.
      return at + 2;
    }
    if (token.startsWith('</')) {
      if (this.script === 'double-escaped') {
        this.script = 'escaped';
        return at + 8;
      }
      this.mode = 'text';
      return at;
    }
    this.script = 'double-escaped';
    return at + 7;
  }
}

function newTag(closing: boolean): TagState {
  return { phase: 'name', closing, name: '', attribute: '', quote: '', blank: true, slash: false };
}
