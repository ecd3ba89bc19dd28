import { describe, expect, it } from 'vitest';
import { ESI_VARIABLES } from '../../../gateway/contract/esi-variable-names';
import type { IncludeAttributes } from '../../../gateway/contract/types';
import { EsiStream } from '../../../gateway/markup/esi-stream';
import { MarkupScanner } from '../../../gateway/markup/markup-scanner';
import {
  Carry,
  closesRawText,
  commentEnd,
  commentTail,
  declarationEnd,
  decodedAttribute,
  isLetter,
  MAX_CARRY,
  RAW_TEXT_ELEMENTS,
  rawAttribute,
  readTag,
  type Tag,
  tagName,
  type View,
} from '../../../gateway/markup/tokenizer';
import { EsiVariables } from '../../../gateway/request/esi-variables';
import { RequestReadings } from '../../../gateway/request/request-readings';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Token =
  | { type: 'text'; text: string }
  | { type: 'start' | 'end'; name: string; attributes: Array<[string, string | null]>; selfClosing: boolean }
  | { type: 'comment'; text: string }
  | { type: 'declaration'; text: string };

/**
 * The tokenizer's functions driven over a stream the way its clients drive
 * them: a construct cut by a chunk end is carried, text and comment bodies
 * go out as they arrive (and are joined again below).
 */
class Tokens {
  private readonly tokens: Token[] = [];
  /** The bytes of the text and comment tokens, decoded at the end: a cut may fall inside a UTF-8 character. */
  private readonly pieces = new Map<Token, number[]>();
  /** The comment being read, whose body may arrive over several chunks. */
  private comment: Token | undefined;
  private readonly carry = new Carry();
  private inComment = false;
  private rawText: string | undefined;

  feed(chunk: Uint8Array): void {
    const view = this.carry.join(chunk);
    const { text } = view;
    let at = 0;
    while (at < text.length) {
      if (this.inComment) {
        const end = commentEnd(text, at);
        if (end === -1) {
          const tail = commentTail(text, at);
          this.append(this.comment, view, at, tail);
          this.carry.hold(view, tail);
          return;
        }
        this.append(this.comment, view, at, end - 3);
        this.inComment = false;
        at = end;
        continue;
      }
      const lt = text.indexOf('<', at);
      const until = lt === -1 ? text.length : lt;
      if (until > at) this.text(view, at, until);
      if (lt === -1) return;
      const next = this.construct(view, lt);
      if (next === -1) {
        // As the clients do: an unfinished construct is carried, up to MAX_CARRY.
        expect(this.carry.fits(view, lt)).toBe(true);
        this.carry.hold(view, lt);
        return;
      }
      at = next;
    }
  }

  end(): Token[] {
    const rest = this.carry.take();
    if (rest.length) this.text({ bytes: rest, text: '' }, 0, rest.length);
    for (const [token, bytes] of this.pieces) if (token.type === 'text' || token.type === 'comment') token.text = decoder.decode(new Uint8Array(bytes));
    return this.tokens;
  }

  /** The construct at `<`: just after it, or -1 when the text ends inside it. */
  private construct(view: View, lt: number): number {
    const { text } = view;
    if (this.rawText !== undefined) {
      const closes = closesRawText(text, lt, this.rawText);
      if (closes === undefined) return -1;
      if (!closes) {
        this.text({ bytes: LT, text: '<' }, 0, 1);
        return lt + 1;
      }
      this.rawText = undefined;
    }
    if (lt + 1 >= text.length) return -1;
    const next = text.charCodeAt(lt + 1);
    if (next === 0x21 /* ! */) {
      if (lt + 4 > text.length) return -1;
      if (text.startsWith('<!--', lt)) {
        this.comment = { type: 'comment', text: '' };
        this.tokens.push(this.comment);
        this.inComment = true;
        return lt + 4;
      }
      return this.declaration(view, lt);
    }
    if (next === 0x2f /* / */) {
      if (lt + 2 >= text.length) return -1;
      if (!isLetter(text.charCodeAt(lt + 2))) return this.declaration(view, lt);
    } else if (!isLetter(next)) {
      this.text({ bytes: LT, text: '<' }, 0, 1);
      return lt + 1;
    }
    const tag = readTag(text, lt);
    if (!tag) return -1;
    this.push(element(view, tag));
    const name = tagName(text, tag);
    if (!tag.closing && RAW_TEXT_ELEMENTS.some((raw) => raw === name)) this.rawText = name;
    return tag.end;
  }

  private declaration(view: View, lt: number): number {
    const end = declarationEnd(view.text, lt);
    if (end !== -1) this.tokens.push({ type: 'declaration', text: decoder.decode(view.bytes.subarray(lt, end)) });
    return end;
  }

  private push(token: Token): void {
    this.tokens.push(token);
  }

  /** Text, joined to the text token before it. */
  private text(view: View, from: number, to: number): void {
    let last = this.tokens.at(-1);
    if (last?.type !== 'text') {
      last = { type: 'text', text: '' };
      this.tokens.push(last);
    }
    this.append(last, view, from, to);
  }

  private append(token: Token | undefined, view: View, from: number, to: number): void {
    if (!token) return;
    const bytes = this.pieces.get(token) ?? [];
    for (let i = from; i < to; i++) bytes.push(view.bytes[i]);
    this.pieces.set(token, bytes);
  }
}

const LT = new Uint8Array([0x3c]);

function element(view: View, tag: Tag): Token {
  const attributes = tag.attributes.map((attribute): [string, string | null] => [
    view.text.slice(attribute.name.start, attribute.name.end).toLowerCase(),
    attribute.value && decoder.decode(view.bytes.subarray(attribute.value.start, attribute.value.end)),
  ]);
  return { type: tag.closing ? 'end' : 'start', name: tagName(view.text, tag), attributes, selfClosing: tag.selfClosing };
}

/** The tokens of `chunks` fed in order; text split by a cut through a UTF-8 character is compared as bytes, so it is joined first. */
function tokenize(chunks: Uint8Array[]): Token[] {
  const tokens = new Tokens();
  for (const chunk of chunks) tokens.feed(chunk);
  return tokens.end();
}

const FIXTURES = [
  '<!doctype html><html lang=en><head><meta charset="utf-8"><title>a <b> & </titles> </title></head>',
  '<body class="home page" data-x=\'1 > 0\' hidden><p title="a &amp; b &#233; &#x263A;">café ☺ text</p>',
  '<script>if (a <b && c > d) document.write("</scr" + "ipt>"); // <!-- not a comment --></script>',
  '<style>p > a { color: red } /* </styl */</style><textarea><b>not bold</b></textarea>',
  '<!-- a comment with <tags> and -- dashes --><!----><!--->--><!doctype x><!bogus>',
  '<esi:include src="/a?x=1&amp;y=2" alt=/b onerror="continue"/><ESI:INCLUDE SRC=\'/upper\'/>',
  '<div =weird a=b/ c = "d" e= f g\t\n=\r"h" DATA-SLOT="first" data-slot="second" self/>x</div>',
  '<img src=x.png alt="" loading=lazy/><input disabled value=\'it"s\'><br/><a href=/à\vb>à</a>',
  '</p a=">">tail <3 <> </ > </3>< p> end',
  '<esi:vars>$(HTTP_HOST)</esi:vars><esi:remove><esi:include src="/no"/></esi:remove>',
];

const decodedCases: Array<[string, string, string | null]> = [
  ['<p title="a &amp; b &lt;c&gt; &#233; &#x263A; &nope;">', 'title', 'a & b <c> é ☺ &nope;'],
  ['<p title=plain>', 'title', 'plain'],
  ['<p hidden>', 'hidden', ''],
  ['<p>', 'title', null],
];

/** The marker scanner and the ESI pass fed `chunks`: what each writes and reports. */
function clients(chunks: Uint8Array[]) {
  const markers: Array<IncludeAttributes | { slot: string }> = [];
  const scanner = new MarkupScanner(
    {
      include: (include) => markers.push(include) > 0,
      slot: (slot) => markers.push({ slot }) > 0,
      waiting: () => true,
      inline: (include) => Promise.resolve(encoder.encode(`«${include.src}»`)),
    },
    true,
  );
  const scanned = chunks.flatMap((chunk) => scanner.pieces(chunk));
  const url = 'https://shop.test/page?x=1';
  const esi = new EsiStream({
    variables: new EsiVariables(new RequestReadings(new Request(url)), new URL(url), new Set(ESI_VARIABLES)),
    onError: () => {},
    onTry: () => '<tessera-try data-index="0"></tessera-try>',
  });
  const applied = [...chunks.flatMap((chunk) => esi.transform(chunk)), ...esi.flush()];
  const bytes = (pieces: unknown[]) => pieces.filter((piece): piece is Uint8Array => piece instanceof Uint8Array).flatMap((piece) => [...piece]);
  return { markers, scanned: bytes(scanned), applied: bytes(applied) };
}

/** Every way of cutting `bytes` in two, and one byte at a time. */
function* cuts(bytes: Uint8Array): Generator<[string, Uint8Array[]]> {
  for (let cut = 1; cut < bytes.length; cut++) yield [`cut at ${cut}`, [bytes.subarray(0, cut), bytes.subarray(cut)]];
  yield ['one byte at a time', [...bytes].map((byte) => new Uint8Array([byte]))];
}

describe('the markup tokenizer', () => {
  it('yields the same tokens for every fixture wherever the chunks are cut, and fed one byte at a time', () => {
    for (const fixture of FIXTURES) {
      const bytes = encoder.encode(fixture);
      const whole = tokenize([bytes]);
      for (const [where, chunks] of cuts(bytes)) expect(tokenize(chunks), `${fixture} ${where}`).toEqual(whole);
    }
  });

  it('reads tags, comments, declarations and raw text as HTML does', () => {
    expect(tokenize([encoder.encode(FIXTURES[2] + FIXTURES[4] + FIXTURES[8])])).toEqual([
      { type: 'start', name: 'script', attributes: [], selfClosing: false },
      { type: 'text', text: 'if (a <b && c > d) document.write("</scr" + "ipt>"); // <!-- not a comment -->' },
      { type: 'end', name: 'script', attributes: [], selfClosing: false },
      { type: 'comment', text: ' a comment with <tags> and -- dashes ' },
      { type: 'comment', text: '' },
      { type: 'comment', text: '->' },
      { type: 'declaration', text: '<!doctype x>' },
      { type: 'declaration', text: '<!bogus>' },
      { type: 'end', name: 'p', attributes: [['a', '>']], selfClosing: false },
      { type: 'text', text: 'tail <3 <> ' },
      { type: 'declaration', text: '</ >' },
      { type: 'text', text: ' ' },
      { type: 'declaration', text: '</3>' },
      { type: 'text', text: '< p> end' },
    ]);
  });

  it('gives an attribute raw, or with its character references decoded', () => {
    for (const [markup, name, decoded] of decodedCases) {
      const bytes = encoder.encode(markup);
      const view = { bytes, text: new TextDecoder('latin1').decode(bytes) };
      const tag = readTag(view.text, 0);
      expect(tag, markup).not.toBeNull();
      if (!tag) continue;
      expect(decodedAttribute(view, tag, name), markup).toBe(decoded);
    }
    const bytes = encoder.encode('<p TITLE="a &amp; é" title="second">');
    const view = { bytes, text: new TextDecoder('latin1').decode(bytes) };
    const tag = readTag(view.text, 0);
    expect(tag && rawAttribute(view, tag, 'title')).toBe('a &amp; é');
  });

  describe('cut inside a construct', () => {
    const CUT_TABLE: Array<[string, ...string[]]> = [
      ['inside a tag name', '<p>a</p><di', 'v data-slot="s">x</div>'],
      ['inside an ESI tag name', '<p>a</p><esi:inc', 'lude src="/x"/>'],
      ['between attributes', '<div class="a" ', 'data-slot="s">x</div>'],
      ['inside an attribute name', '<div class="a" data-sl', 'ot="s">x</div>'],
      ['inside a quoted value', '<esi:include src="/a?x=1&am', 'p;y=2"/>'],
      ['just before the >', '<div data-slot="s"', '>x</div>'],
      ['inside <!--', '<p>a</p><!-', '- <esi:include src="/no"/> --><esi:include src="/yes"/>'],
      ['inside -->', '<!-- <esi:include src="/no"/> -', '-><esi:include src="/yes"/>'],
      ['inside </script', '<script>var s = "<esi:include src=\'/in\'/>";</scr', 'ipt><div data-slot="after"></div>'],
      ['right after </script', '<script>x</script', '><div data-slot="after"></div>'],
      ['inside </title in a <title>', '<title>a</tit', 'les</title><esi:include src="/yes"/>'],
      ['inside an ESI construct', '<esi:vars>$(HTTP_', 'HOST)</esi:vars><esi:remove>no</esi:re', 'move>yes'],
    ];

    it.each(CUT_TABLE)('%s: the same tokens, markers, and bytes out as fed whole', (_where, ...parts) => {
      const chunks = parts.map((part) => encoder.encode(part));
      const whole = encoder.encode(parts.join(''));
      expect(tokenize(chunks)).toEqual(tokenize([whole]));
      const cut = clients(chunks);
      const uncut = clients([whole]);
      expect(cut.markers).toEqual(uncut.markers);
      expect(decoder.decode(new Uint8Array(cut.scanned))).toBe(decoder.decode(new Uint8Array(uncut.scanned)));
      expect(decoder.decode(new Uint8Array(cut.applied))).toBe(decoder.decode(new Uint8Array(uncut.applied)));
    });
  });

  it('keeps both clients, the marker scan and the ESI pass, the same fed one byte at a time', () => {
    for (const fixture of FIXTURES) {
      const bytes = encoder.encode(fixture);
      const whole = clients([bytes]);
      const single = clients([...bytes].map((byte) => new Uint8Array([byte])));
      expect(single.markers, fixture).toEqual(whole.markers);
      expect(single.scanned, fixture).toEqual(whole.scanned);
      expect(single.applied, fixture).toEqual(whole.applied);
    }
  });

  it('carries at most MAX_CARRY bytes of an unfinished construct', () => {
    const carry = new Carry();
    const view = carry.join(encoder.encode(`<div title="${'x'.repeat(MAX_CARRY)}`));
    expect(carry.fits(view, 0)).toBe(false);
    expect(carry.fits(view, view.bytes.length - MAX_CARRY)).toBe(true);
    carry.hold(view, view.bytes.length - 3);
    expect(decoder.decode(carry.join(encoder.encode('">')).bytes)).toBe('xxx">');
    expect(carry.length).toBe(0);
  });

  it('reads every element’s attributes as HTMLRewriter does: the same elements, attribute names and raw values', async () => {
    const markup = FIXTURES.join('');
    const seen: Array<{ name: string; attributes: Array<[string, string]> }> = [];
    await new HTMLRewriter()
      .on('*', { element: (e) => void seen.push({ name: e.tagName, attributes: [...e.attributes].map(([name, value]): [string, string] => [name, value]) }) })
      .transform(new Response(markup))
      .text();
    const ours = tokenize([encoder.encode(markup)])
      .filter((token): token is Extract<Token, { type: 'start' | 'end' }> => token.type === 'start')
      .map((token) => ({ name: token.name, attributes: firstOfEach(token.attributes).map(([name, value]): [string, string] => [name, value ?? '']) }));
    expect(ours.map((element) => element.name)).toEqual(seen.map((element) => element.name));
    expect(ours).toEqual(seen.map((element) => ({ name: element.name, attributes: firstOfEach(element.attributes) })));
    // HTMLRewriter hands values over raw; the tokenizer decodes them on request, as the browser reads them.
    expect(seen.find((element) => element.name === 'p')?.attributes).toEqual([['title', 'a &amp; b &#233; &#x263A;']]);
    const bytes = encoder.encode(markup);
    const view = { bytes, text: new TextDecoder('latin1').decode(bytes) };
    const titled = readTag(view.text, view.text.indexOf('<p title='));
    expect(titled && decodedAttribute(view, titled, 'title')).toBe('a & b é ☺');
  });

  it('knows where a raw-text element ends, and when it cannot tell yet', () => {
    expect(closesRawText('</script>', 0, 'script')).toBe(true);
    expect(closesRawText('</SCRIPT ', 0, 'script')).toBe(true);
    expect(closesRawText('</scripts>', 0, 'script')).toBe(false);
    expect(closesRawText('</scr', 0, 'script')).toBeUndefined();
    expect(closesRawText('</script', 0, 'script')).toBeUndefined();
    expect(closesRawText('<script>', 0, 'script')).toBe(false);
  });
});

/** The first attribute of each name, as HTML keeps it. */
function firstOfEach<T>(attributes: Array<[string, T]>): Array<[string, T]> {
  const seen = new Set<string>();
  return attributes.filter(([name]) => !seen.has(name) && !!seen.add(name));
}
