import { describe, expect, it } from 'vitest';
import { ESI_VARIABLES } from '../../../gateway/contract/esi-variable-names';
import type { TryBlock } from '../../../gateway/contract/fragment-source';
import { EsiStream } from '../../../gateway/markup/esi-stream';
import { HtmlContext, type Landing } from '../../../gateway/markup/html-context';
import { EsiVariables } from '../../../gateway/request/esi-variables';
import { RequestReadings } from '../../../gateway/request/request-readings';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The page after the ESI pass, for a request carrying `query`, fed in the given chunks. */
function apply(chunks: Uint8Array[], query: Record<string, string>) {
  const url = `https://shop.test/page?${new URLSearchParams(query)}`;
  const errors: string[] = [];
  const tries: TryBlock[] = [];
  const variables = new EsiVariables(new RequestReadings(new Request(url)), new URL(url), new Set(ESI_VARIABLES));
  const esi = new EsiStream({
    variables,
    onError: (m) => errors.push(m),
    onTry: (block) => `<tessera-try data-index="${tries.push(block) - 1}"></tessera-try>`,
  });
  const out = decoder.decode(new Uint8Array([...chunks.flatMap((c) => esi.transform(c)), ...esi.flush()].flatMap((p) => [...p])));
  return { out, errors, tries };
}

/** The page whole; the same cut in two at every byte, and fed one byte at a time. */
function render(markup: string, query: Record<string, string>) {
  const bytes = encoder.encode(markup);
  const whole = apply([bytes], query);
  for (let cut = 1; cut < bytes.length; cut++) {
    expect(apply([bytes.subarray(0, cut), bytes.subarray(cut)], query).out, `cut at ${cut}`).toBe(whole.out);
  }
  const single = [...bytes].map((b) => new Uint8Array([b]));
  expect(apply(single, query).out, 'one byte at a time').toBe(whole.out);
  return whole;
}

const vars = (markup: string) => `<esi:vars>${markup}</esi:vars>`;

describe('ESI variables are escaped for where they land', () => {
  it('Should HTML-escape a value in text, entity-looking text included', () => {
    const { out } = render(vars('<p>$(QUERY_STRING{x})</p>'), { x: `<script>alert(1)</script>&lt;"'\`` });
    expect(out).toBe('<p>&#60;script&#62;alert(1)&#60;/script&#62;&#38;lt;&#34;&#39;`</p>');
  });

  it('Should escape both quotes in a quoted attribute value', () => {
    const x = `" onmouseover="alert(1)' x='`;
    expect(render(vars('<p title="$(QUERY_STRING{x})">a</p>'), { x }).out).toBe('<p title="&#34; onmouseover=&#34;alert(1)&#39; x=&#39;">a</p>');
    expect(render(vars("<p title='$(QUERY_STRING{x})'>a</p>"), { x }).out).toBe("<p title='&#34; onmouseover=&#34;alert(1)&#39; x=&#39;'>a</p>");
  });

  it('Should write every character that could end an unquoted value as a reference', () => {
    const { out } = render(vars('<p class=$(QUERY_STRING{x})>a</p>'), { x: 'a onclick=alert(1) x>"' });
    expect(out).toBe('<p class=a&#32;onclick&#61;alert&#40;1&#41;&#32;x&#62;&#34;>a</p>');
    // The first attack shape: later in an unquoted URL.
    expect(render(vars('<img src=/i/$(QUERY_STRING{x})>'), { x: 'a onerror=alert(1) x' }).out).toBe('<img src=/i/a%20onerror%3Dalert%281%29%20x>');
  });

  it('Should escape a value in an event handler for the script, whether or not the browser decodes references first', () => {
    const { out } = render(vars(`<button onclick="go('$(QUERY_STRING{x})')">b</button>`), { x: "&#39;);alert(1);('\\" });
    expect(out).toBe(`<button onclick="go('\\u0026\\u002339\\u003b\\u0029\\u003balert\\u00281\\u0029\\u003b\\u0028\\u0027\\u005c')">b</button>`);
    expect(render(vars('<b onmouseover=f($(QUERY_STRING{x}))>b</b>'), { x: 'a b' }).out).toBe('<b onmouseover=f(a&#92;u0020b)>b</b>');
  });

  it('Should escape a value in a script so that two in one string cannot join, nor end the script', () => {
    const page = vars('<script>var s = "$(QUERY_STRING{a}) $(QUERY_STRING{b})";</script><p>$(QUERY_STRING{a})</p>');
    const { out } = render(page, { a: '\\', b: `;alert(1)//</script><script>alert(2)\u2028\`` });
    expect(out).toBe(
      '<script>var s = "\\u005c \\u003balert\\u00281\\u0029\\u002f\\u002f\\u003c\\u002fscript\\u003e\\u003cscript\\u003ealert\\u00282\\u0029\\u2028\\u0060";</script><p>\\</p>',
    );
  });

  it('Should follow the script where its escaped states keep it open, and leave it where it ends', () => {
    // The ESI pass skips `<!--…-->`; an ESI comment between the dashes hides it from the pass, not from the browser.
    const page = vars(
      `<script><!-<esi:comment text="c"/>-<script></script>var a = '$(QUERY_STRING{x})'--></script>$(QUERY_STRING{x})<script>/* </scripts> */ '$(QUERY_STRING{x})'</script>`,
    );
    expect(render(page, { x: "'" }).out).toBe(`<script><!--<script></script>var a = '\\u0027'--></script>&#39;<script>/* </scripts> */ '\\u0027'</script>`);
  });

  it('Should refuse a URL a value starts unless it is relative or http, https or mailto, and log why once', () => {
    const page = vars('<a href="$(QUERY_STRING{x})">a</a><a href=$(QUERY_STRING{x})>b</a><iframe src=" $(QUERY_STRING{x})"></iframe>');
    for (const x of [
      'javascript:alert(1)',
      ' JaVaScRiPt:alert(1)',
      'java\tscript:alert(1)',
      '\u0001javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:x',
    ]) {
      const { out, errors } = render(page, { x });
      expect(out, x).toBe('<a href="">a</a><a href=>b</a><iframe src=" "></iframe>');
      expect(errors, x).toEqual(['esi:vars $(QUERY_STRING{x}) is left out: a URL a value starts may only be relative or use http:, https: or mailto:']);
    }
    expect(render(page, { x: 'https://example.com/a b?q=1&r="2"' }).out).toBe(
      '<a href="https://example.com/a%20b?q=1&#38;r=%222%22">a</a><a href=https&#58;&#47;&#47;example.com&#47;a%20b&#63;q&#61;1&#38;r&#61;%222%22>b</a><iframe src=" https://example.com/a%20b?q=1&#38;r=%222%22"></iframe>',
    );
    expect(render(vars('<a href="$(QUERY_STRING{x})">a</a>'), { x: '/search?q=1' }).out).toBe('<a href="/search?q=1">a</a>');
  });

  it('Should percent-encode a value later in a URL as one component, and never let it walk the path', () => {
    const page = vars('<a href="/search?q=$(QUERY_STRING{x})">a</a><form action="/s/$(QUERY_STRING{x})"></form>');
    expect(render(page, { x: `a&b=c d#"'(javascript:x)` }).out).toBe(
      '<a href="/search?q=a%26b%3Dc%20d%23%22%27%28javascript%3Ax%29">a</a><form action="/s/a%26b%3Dc%20d%23%22%27%28javascript%3Ax%29"></form>',
    );
    expect(render(page, { x: '..' }).out).toBe('<a href="/search?q=">a</a><form action="/s/"></form>');
    expect(render(vars('<img srcset="$(QUERY_STRING{x})">'), { x: 'a.png 1x, javascript:alert(1) 2x' }).out).toBe(
      '<img srcset="a.png%201x%2C%20javascript%3Aalert%281%29%202x">',
    );
  });

  it('Should let into CSS only letters, digits, spaces and - _ . # %', () => {
    const page = vars('<p style="color: $(QUERY_STRING{x})">a</p><style>p { color: $(QUERY_STRING{x}) }</style>');
    expect(render(page, { x: '#f00' }).out).toBe('<p style="color: #f00">a</p><style>p { color: #f00 }</style>');
    const { out, errors } = render(page, { x: 'red;background:url(javascript:alert(1))</style><script>alert(1)</script>' });
    expect(out).toBe('<p style="color: ">a</p><style>p { color:  }</style>');
    expect(errors).toHaveLength(2);
  });

  it('Should escape dashes and > in a comment, so a value cannot end it', () => {
    const { out } = render(vars('<!-<esi:comment text="x"/>- $(QUERY_STRING{x}) --><!doctype $(QUERY_STRING{x})>'), { x: '--!><script>alert(1)</script>' });
    expect(out).toBe(
      '<!-- &#45;&#45;&#33;&#62;&#60;script&#62;alert(1)&#60;/script&#62; --><!doctype &#45;&#45;&#33;&#62;&#60;script&#62;alert(1)&#60;/script&#62;>',
    );
  });

  it('Should refuse a value as a tag or attribute name, after a bare <, and in srcdoc', () => {
    const page = vars('<p $(QUERY_STRING{x})>a</p><$(QUERY_STRING{x})><iframe srcdoc="$(QUERY_STRING{x})"></iframe>');
    const { out, errors } = render(page, { x: 'img src=x onerror=alert(1)' });
    expect(out).toBe('<p >a</p><><iframe srcdoc=""></iframe>');
    expect(errors).toHaveLength(3);
  });

  it('Should read raw text and RCDATA elements up to their end tag only', () => {
    const page = vars(
      '<textarea>$(QUERY_STRING{x})</textarea><title>$(QUERY_STRING{x})</title><noscript><p title="</noscript><script>var a=\'$(QUERY_STRING{x})\'</script>">',
    );
    expect(render(page, { x: "</textarea>'" }).out).toBe(
      '<textarea>&#60;/textarea&#62;&#39;</textarea><title>&#60;/textarea&#62;&#39;</title><noscript><p title="</noscript><script>var a=\'\\u003c\\u002ftextarea\\u003e\\u0027\'</script>">',
    );
  });

  it('Should treat a script inside svg as script, and svg text as text', () => {
    const page = vars(`<svg><title>$(QUERY_STRING{x})</title><script>var a='$(QUERY_STRING{x})'</script></svg><p>$(QUERY_STRING{x})</p>`);
    expect(render(page, { x: "'<" }).out).toBe(`<svg><title>&#39;&#60;</title><script>var a='\\u0027\\u003c'</script></svg><p>&#39;&#60;</p>`);
  });

  it('Should read an esi:try branch from where the try stands', () => {
    const { tries } = render(
      `<script>var a = '<esi:try><esi:attempt>${vars('$(QUERY_STRING{x})')}</esi:attempt><esi:except>${vars('$(QUERY_STRING{x})')}</esi:except></esi:try>';</script>`,
      {
        x: "'",
      },
    );
    expect(tries.at(-1)).toEqual({ attempt: '\\u0027', except: '\\u0027' });
  });

  it('Should refuse a value that would finish a </script the page began right before it', () => {
    const { out } = render(vars('<script>document.write("</$(QUERY_STRING{t})>"); secret()</script>'), { t: 'script' });
    expect(out).toBe('<script>document.write("</>"); secret()</script>');
  });

  it("Should refuse a value in a meta's content, which a refresh reads as a redirect", () => {
    const { out } = render(vars('<meta http-equiv="refresh" content="0;url=$(QUERY_STRING{next})">'), { next: 'https://evil.test/' });
    expect(out).toBe('<meta http-equiv="refresh" content="0;url=">');
  });

  it('Should keep defaults, which the page wrote, escaped the same way', () => {
    expect(render(vars(`<a href="$(QUERY_STRING{none}|'javascript:x')">a</a><p>$(QUERY_STRING{none}|'<b>')</p>`), {}).out).toBe(
      '<a href="">a</a><p>&#60;b&#62;</p>',
    );
  });
});

describe('HtmlContext', () => {
  const cases: [string, Landing][] = [
    ['<p>', { in: 'text' }],
    ['<p title="a', { in: 'attribute', kind: 'plain', quote: '"', atStart: false }],
    ['<a href=" ', { in: 'attribute', kind: 'url', quote: '"', atStart: true }],
    ["<a x='1' href='", { in: 'attribute', kind: 'url', quote: "'", atStart: true }],
    ['<a href=', { in: 'attribute', kind: 'url', quote: '', atStart: true }],
    ['<a href=x', { in: 'attribute', kind: 'url', quote: '', atStart: false }],
    ['<a ONCLICK = "', { in: 'attribute', kind: 'handler', quote: '"', atStart: true }],
    ['<img data-src="', { in: 'attribute', kind: 'url', quote: '"', atStart: true }],
    ['<a title="x>y" ', { in: 'tag' }],
    ['<a b"c>', { in: 'text' }],
    ['<a href=x="y>', { in: 'text' }],
    ['<a href=x="y><p title="', { in: 'attribute', kind: 'plain', quote: '"', atStart: true }],
    ['<a/b c=d/>', { in: 'text' }],
    ['<script>a<b', { in: 'script' }],
    ['<script>"</scripts>', { in: 'script' }],
    ['<script></script >', { in: 'text' }],
    ['<script><!--<script></script>', { in: 'script' }],
    ['<script><!--<script></script>--></script>', { in: 'text' }],
    ['<script><!--></script>', { in: 'text' }],
    ['<style>a{', { in: 'style' }],
    ['<STYLE>a{</style><p>', { in: 'text' }],
    ['<!-- a <script> ', { in: 'comment' }],
    ['<!-- a --!><script>', { in: 'script' }],
    ['<!--><script>', { in: 'script' }],
    ['<!--!><script>', { in: 'comment' }],
    ['<!doctype html><p>', { in: 'text' }],
    ['<? x ', { in: 'comment' }],
    ['</ x><script>', { in: 'script' }],
    ['<', { in: 'cut' }],
    ['<textarea></text', { in: 'cut' }],
    ['<textarea><script>', { in: 'text' }],
    ['<svg><textarea><script>', { in: 'script' }],
    ['<svg/><textarea><script>', { in: 'text' }],
    ['<math><svg></svg></math><textarea><script>', { in: 'text' }],
    ['<plaintext></plaintext><script>', { in: 'text' }],
    ['<p a=1 b', { in: 'tag' }],
  ];

  it('Should say where the next text lands, the same fed whole or one character at a time', () => {
    for (const [prefix, landing] of cases) {
      const whole = new HtmlContext();
      whole.feed(prefix);
      expect(whole.landing(), prefix).toEqual(landing);
      const single = new HtmlContext();
      for (const c of prefix) single.feed(c);
      expect(single.landing(), `${prefix} (one at a time)`).toEqual(landing);
    }
  });

  it('Should read random markup the same whether its tags arrive whole or cut anywhere', () => {
    const pieces = ['<', '>', '/', '=', '"', "'", ' ', 'a', 'p', 'script', 'style', 'svg', 'title', '!--', '-', '!', '?', 'href', 'on', '\n', 'x'];
    let seed = 17;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 400; round++) {
      let markup = '';
      for (let i = 0; i < 30; i++) markup += pieces[random(pieces.length)];
      const whole = new HtmlContext();
      whole.feed(markup);
      const single = new HtmlContext();
      for (const c of markup) single.feed(c);
      expect(single.landing(), markup).toEqual(whole.landing());
      const cut = random(markup.length);
      const two = new HtmlContext();
      two.feed(markup.slice(0, cut));
      two.feed(markup.slice(cut));
      expect(two.landing(), `${markup} cut at ${cut}`).toEqual(whole.landing());
    }
  });
});
