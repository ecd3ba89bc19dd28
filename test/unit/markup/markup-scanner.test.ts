import { describe, expect, it } from 'vitest';
import type { IncludeAttributes } from '../../../gateway/contract/types';
import { BODY_END, MarkupScanner, type Piece } from '../../../gateway/markup/markup-scanner';
import { OpenElements } from '../../../gateway/markup/open-elements';
import { readIncludeAttributes } from '../../../gateway/markup/page-esi';

const include = (src: string): IncludeAttributes => readIncludeAttributes((name) => (name === 'src' ? src : null));
const NOTHING = () => Promise.resolve(new Uint8Array(0));
const bytes = (text: string) => new TextEncoder().encode(text);
/** A piece as text; an include inlined into raw text shows as «src», the hold before </body> as ‖. */
const text = (piece: Piece, inlined: Map<Promise<Uint8Array>, string>) =>
  piece === BODY_END ? '‖' : piece instanceof Uint8Array ? new TextDecoder().decode(piece) : `«${inlined.get(piece)}»`;

/** Scans `markup` cut into the given chunks; the markers reported and the pieces written. */
function scan(chunks: string[], esi = true) {
  const markers: Array<IncludeAttributes | { slot: string }> = [];
  const inlined = new Map<Promise<Uint8Array>, string>();
  const inline = (found: IncludeAttributes) => {
    const pending = NOTHING();
    inlined.set(pending, found.src ?? '');
    return pending;
  };
  const scanner = new MarkupScanner(
    { include: (found) => markers.push(found) > 0, slot: (slot) => markers.push({ slot }) > 0, waiting: () => true, inline },
    esi,
  );
  const pieces = chunks.flatMap((chunk) => scanner.pieces(bytes(chunk)).map((piece) => text(piece, inlined)));
  return { markers, pieces };
}

/** What HTMLRewriter itself reads from the same markup: the reference the scanner must agree with. */
async function rewriterMarkers(markup: string) {
  const markers: Array<IncludeAttributes | { slot: string }> = [];
  await new HTMLRewriter()
    .on('esi\\:include', { element: (e) => void markers.push(readIncludeAttributes((name) => e.getAttribute(name))) })
    .on('[data-slot]', { element: (e) => void markers.push({ slot: e.getAttribute('data-slot') ?? '' }) })
    .transform(new Response(markup))
    .text();
  return markers;
}

const TRICKY = [
  '<!doctype html><html><head><title>a <esi:include src="/no"/></title>',
  '<script>if (a <b) document.write("<esi:include src=\'/no\'/>")</script>',
  '<style>/* <div data-slot="no"> */</style>',
  '<!-- <esi:include src="/no"/> -- still a comment -->',
  '</head><body><p title="a > b" data-x=\'<esi:include src="/no"/>\'>text</p>',
  '<ESI:INCLUDE SRC="/upper" ALT=/alt ID=i1>',
  '<esi:include src = "/spaced?a=1&amp;b=2" />',
  '<div class=x DATA-SLOT="first" data-slot="second">own</div>',
  '<img data-slot=bare src=x.png>',
  '<esi:include src="/last"/></body></html>',
].join('');

/** TRICKY as it is written: the includes in <title> and <script>, which the rewriter cannot see, inlined. */
const TRICKY_WRITTEN = TRICKY.replace('<title>a <esi:include src="/no"/></title>', '<title>a «/no»</title>').replace(
  `document.write("<esi:include src='/no'/>")`,
  'document.write("«/no»")',
);

describe('the markup scanner', () => {
  it('reads every marker HTMLRewriter reads, with the same raw attribute values', async () => {
    const expected = await rewriterMarkers(TRICKY);
    expect(expected).toHaveLength(5);
    expect(scan([TRICKY]).markers).toEqual(expected);
  });

  it('reads the same markers wherever the chunks are cut, and loses no byte', async () => {
    const expected = await rewriterMarkers(TRICKY);
    for (let cut = 1; cut < TRICKY.length; cut++) {
      const { markers, pieces } = scan([TRICKY.slice(0, cut), TRICKY.slice(cut)]);
      expect(pieces.join(''), `cut at ${cut}`).toBe(TRICKY_WRITTEN);
      expect(markers, `cut at ${cut}`).toEqual(expected);
    }
  });

  it('starts a new piece before every marker tag, so output up to it can flush', () => {
    const markup = '<p>a</p><ESI:include src="x"/><div class="c" data-slot="s">x</div>';
    expect(scan([markup]).pieces).toEqual(['<p>a</p>', '<ESI:include src="x"/>', '<div class="c" data-slot="s">x</div>']);
  });

  it('lets the markup before a tag cut off by the chunk end through at once', () => {
    expect(scan(['<p>a</p><span data-sl', 'ot="s">x</span>']).pieces).toEqual(['<p>a</p>', '<span data-sl', 'ot="s">x</span>']);
  });

  it('skips includes inside esi:remove, and reads them when ESI is off only as plain markup', () => {
    const markup = '<esi:remove><esi:include src="/removed"/></esi:remove><esi:include src="/kept"/><div data-slot="s"></div>';
    expect(scan([markup]).markers).toEqual([include('/kept'), { slot: 's' }]);
    expect(scan([markup], false).markers).toEqual([{ slot: 's' }]);
    expect(scan([markup], false).pieces).toEqual([
      '<esi:remove><esi:include src="/removed"/></esi:remove><esi:include src="/kept"/>',
      '<div data-slot="s"></div>',
    ]);
  });

  it('lets a page without ESI through unscanned once no fragment is in flight', () => {
    let waiting = true;
    const markers: string[] = [];
    const scanner = new MarkupScanner({ include: () => true, slot: (slot) => markers.push(slot) > 0, waiting: () => waiting, inline: NOTHING }, false);
    expect(scanner.pieces(bytes('<p>a</p><div data-slot="a"></div>')).map((piece) => text(piece, new Map()))).toEqual([
      '<p>a</p>',
      '<div data-slot="a"></div>',
    ]);
    waiting = false;
    expect(scanner.pieces(bytes('<p>b</p><div data-slot="b"></div>')).map((piece) => text(piece, new Map()))).toEqual(['<p>b</p><div data-slot="b"></div>']);
    expect(markers).toEqual(['a']);
  });

  it('lets go of a tag longer than it carries between chunks, and keeps scanning after it', () => {
    const huge = `<div title="${'x'.repeat(40_000)}">`;
    const { markers, pieces } = scan([huge.slice(0, 20_000), huge.slice(20_000), '<esi:include src="/after"/>']);
    expect(pieces.join('')).toBe(`${huge}<esi:include src="/after"/>`);
    expect(markers).toEqual([include('/after')]);
  });
});

describe('the markup scanner on an out-of-order page', () => {
  const scanner = () => new MarkupScanner({ include: () => false, slot: () => false, waiting: () => false, inline: NOTHING }, true, new OpenElements());
  const written = (s: MarkupScanner, chunk: string) => s.pieces(bytes(chunk)).map((piece) => text(piece, new Map()));

  it('stops before the first </body>, and only the first', () => {
    const s = scanner();
    expect(written(s, '<body><p>x</p></bo')).toEqual(['<body><p>x</p>']);
    expect(written(s, 'dy></html><!-- </body> --></body>')).toEqual(['‖', '</body></html><!-- </body> --></body>']);
  });

  it('says where the bytes so far end: in text, or inside a tag, comment, raw text or table', () => {
    const s = scanner();
    const at = (chunk: string) => {
      s.pieces(bytes(chunk));
      return s.atSafePoint;
    };
    expect(at('<body><main>')).toBe(true);
    expect(at('<div class="a')).toBe(true); // Held back whole: the bytes sent end before the tag.
    expect(at(' b">text<!-- c')).toBe(false);
    expect(at('omment --><script>var a = 1')).toBe(false);
    expect(at(';</script><table><tr><td>')).toBe(false);
    expect(at('</td></tr></table>')).toBe(true);
  });
});

describe('the markup scanner at the end of the origin body', () => {
  it('gives back, as they are, the bytes of an unfinished tag it held on an out-of-order page', () => {
    const s = new MarkupScanner({ include: () => false, slot: () => false, waiting: () => false, inline: NOTHING }, true, new OpenElements());
    const sent = [...s.pieces(bytes('<body><p>a <')), ...s.end()].map((piece) => text(piece, new Map())).join('');
    expect(sent).toBe('<body><p>a <');
  });

  it('gives back an include cut off inside a script, which it held to inline', () => {
    const s = new MarkupScanner({ include: () => false, slot: () => false, waiting: () => true, inline: NOTHING }, true);
    const sent = [...s.pieces(bytes('<script>var x="<esi:inc')), ...s.end()].map((piece) => text(piece, new Map())).join('');
    expect(sent).toBe('<script>var x="<esi:inc');
  });

  it('gives back nothing twice: bytes it only kept to scan again went out already', () => {
    const s = new MarkupScanner({ include: () => false, slot: () => false, waiting: () => true, inline: NOTHING }, true);
    const sent = [...s.pieces(bytes('<p>a</p><div class="x')), ...s.end()].map((piece) => text(piece, new Map())).join('');
    expect(sent).toBe('<p>a</p><div class="x');
  });
});
