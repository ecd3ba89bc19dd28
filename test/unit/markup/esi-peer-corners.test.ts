import { describe, expect, it } from 'vitest';
import { ESI_VARIABLES } from '../../../gateway/contract/esi-variable-names';
import { EsiStream } from '../../../gateway/markup/esi-stream';
import { EsiVariables } from '../../../gateway/request/esi-variables';
import { RequestReadings } from '../../../gateway/request/request-readings';
import { delay, esiPage, gatewayFor, html, upstream } from '../harness';

/**
 * Parser corners from the public suites of Tessera's peers (Varnish's
 * `bin/varnishtest/tests/e000*.vtc`, Ledge's `t/02-integration/esi.t`,
 * cloudflare-esi's `test/esi.spec.ts`): each test names the behaviour and the
 * peers it follows. Where Tessera deliberately differs, the README's ESI
 * section says so and why.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The markup after the ESI pass, fed in the given chunks. */
function apply(chunks: string[], url = 'https://shop.test/page?a=1&tag=%3Cb%3E') {
  const errors: string[] = [];
  const variables = new EsiVariables(new RequestReadings(new Request(url)), new URL(url), new Set(ESI_VARIABLES));
  const esi = new EsiStream({ variables, onError: (m) => errors.push(m), onTry: () => '<tessera-try data-index="0"></tessera-try>' });
  const out = [...chunks.flatMap((c) => esi.transform(encoder.encode(c))), ...esi.flush()].map((p) => decoder.decode(p)).join('');
  return { out, errors };
}

/** The same result whole, cut in two at every byte, and one byte per chunk. */
function cutEverywhere(markup: string, url?: string): string {
  const whole = apply([markup], url).out;
  for (let cut = 1; cut < markup.length; cut++) expect(apply([markup.slice(0, cut), markup.slice(cut)], url).out, `cut at ${cut}`).toBe(whole);
  expect(apply([...markup], url).out, 'one byte per chunk').toBe(whole);
  return whole;
}

/** An origin body sent in the given pieces, with a pause before each but the first. */
function paused(pieces: string[], ms = 30): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(controller) {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await delay(ms);
        controller.enqueue(encoder.encode(piece));
      }
      controller.close();
    },
  });
}

describe('esi:choose corners', () => {
  it('drops whitespace between esi:when branches, as Ledge and cloudflare-esi do (Varnish has no esi:choose)', () => {
    const page =
      'Hello\n<esi:choose>\n<esi:when test="$(QUERY_STRING{a}) == 2">\nTwo\n</esi:when>\n  <esi:when test="1 == 1">\nTrue\n</esi:when>\n\t<esi:otherwise>\nNever\n</esi:otherwise>\n</esi:choose>\nGoodbye';
    expect(cutEverywhere(page)).toBe('Hello\n\nTrue\n\nGoodbye');
  });

  it('drops whitespace between branches through the gateway too, however the bytes arrive, as Ledge and cloudflare-esi do', async () => {
    const markup =
      '<p>\n<esi:choose>\n  <esi:when test="1 == 2">no</esi:when>\n  <esi:otherwise>\n<esi:include src="/f"/>\n</esi:otherwise>\n</esi:choose>\n</p>';
    const net = upstream({
      '/whole': () => esiPage(markup),
      '/bytes': () => esiPage(paused([...markup], 0)),
      '/in-fragment': () => esiPage('<esi:include src="/esi-fragment"/>'),
      '/esi-fragment': () => esiPage(markup),
      '/f': () => html('F'),
    });
    const get = gatewayFor(net, { routes: ['/whole', '/bytes', '/in-fragment'] });
    expect(await (await get('/whole')).text()).toBe('<p>\n\nF\n\n</p>');
    expect(await (await get('/bytes')).text()).toBe('<p>\n\nF\n\n</p>');
    expect(await (await get('/in-fragment')).text()).toBe('<p>\n\nF\n\n</p>');
  });

  it('drops any content between branches, not only whitespace, as Ledge and cloudflare-esi do', () => {
    const page = 'B<esi:choose><esi:when test="1 == 2">b</esi:when>RANDOM ILLEGAL CONTENT<esi:when test="1 == 1">c</esi:when></esi:choose>A';
    expect(cutEverywhere(page)).toBe('BcA');
  });

  it('ignores stray end tags inside esi:choose (</esi:vars alt>, </esi:when alt>), as Ledge and cloudflare-esi do', () => {
    const page =
      'B<esi:choose>\n  </esi:vars alt="BAD">\n  <esi:when test="1 == 1">x\n    <esi:choose><esi:when test="1 == 1">y</esi:when>\n      </esi:when alt="MORE BAD">\n    </esi:choose>\n  </esi:when>\n</esi:choose>A';
    expect(cutEverywhere(page)).toBe('Bx\n    y\n  A');
  });

  it('reads a test attribute holding ">" and whitespace before the tag end, as cloudflare-esi does', () => {
    const page =
      'BEFORE <esi:choose><esi:when test="1>2" ></esi:when><esi:otherwise><esi:remove> FIRST </esi:remove><esi:remove> SECOND </esi:remove></esi:otherwise></esi:choose> AFTER';
    expect(cutEverywhere(page)).toBe('BEFORE  AFTER');
  });

  it('reads tags broken over lines (names, attributes and ends on lines of their own), as Ledge and cloudflare-esi do', () => {
    const page =
      'B\n<esi:choose\n><esi:when   \n        test="$(QUERY_STRING{a}) == 1"\n    >a\n<esi:include \n\n   src="/f"   \n/></esi:when\n>\n</esi:choose\n\n>\nA\n';
    expect(cutEverywhere(page)).toBe('B\na\n<esi:include \n\n   src="/f"   \n/>\nA\n');
  });

  it('substitutes $(…) in the branch taken without esi:vars, encoded for where it lands, and not outside it, as Ledge and cloudflare-esi do', () => {
    const page =
      '$(QUERY_STRING{a})<esi:choose><esi:when test="1 == 1">[$(QUERY_STRING{a})|$(QUERY_STRING{tag})]</esi:when><esi:otherwise>$(QUERY_STRING{a})</esi:otherwise></esi:choose>$(QUERY_STRING{a})';
    expect(cutEverywhere(page)).toBe('$(QUERY_STRING{a})[1|&#60;b&#62;]$(QUERY_STRING{a})');
  });
});

describe('<!--esi --> corners', () => {
  it('unwraps <!--esi with no space after it, as Ledge and cloudflare-esi do', () => {
    expect(cutEverywhere('<!--esiCOMMENTED-->\n<!--esiCOMMENTED-->')).toBe('COMMENTED\nCOMMENTED');
  });

  it('unwraps nested <!--esi --> blocks and processes both, as Ledge and cloudflare-esi do', () => {
    const page = 'BEFORE\n<!--esi<esi:vars>$(QUERY_STRING{a})</esi:vars>\n<!--esi<esi:vars>2</esi:vars>\n-->MIDDLE\n-->AFTER';
    expect(cutEverywhere(page)).toBe('BEFORE\n1\n2\nMIDDLE\nAFTER');
  });
});

describe('esi:remove and esi:comment corners', () => {
  it('removes esi:remove across lines and keeps the lines around it, as Varnish, Ledge and cloudflare-esi do', () => {
    expect(cutEverywhere('1\n<esi:remove>\n2\n</esi:remove>\n3\n<esi:remove foo="bar"></esi:remove>4')).toBe('1\n\n3\n4');
  });

  it('drops esi:comment written with spaces before "/>", also inside a branch, as Ledge and cloudflare-esi do', () => {
    const page =
      '1234<esi:comment text="comment text" /> 5678<esi:choose><esi:when test="1>2"></esi:when><esi:otherwise><esi:comment text="a" /> <esi:comment text="b" /></esi:otherwise></esi:choose>.';
    expect(cutEverywhere(page)).toBe('1234 5678 .');
  });

  it('treats esi:comment as an empty element however its tag ends ("/ >", no "/"), so it never swallows the page, as Varnish does', () => {
    const page = '<1></esi:comment foo><1><2><esi:comment / ><esi:comment doo><2><3><esi:remove foo="bar"></esi:remove><3><esi:comment>kept</esi:comment>';
    expect(cutEverywhere(page)).toBe('<1><1><2><2><3><3>kept');
  });

  it('does not end esi:remove at a </esi:remove> inside CDATA, as Varnish does', () => {
    const page = 'x\n<esi:remove>\n<![CDATA[</esi:remove>]]>\nUnseen University\n</esi:remove>\nHello world';
    expect(cutEverywhere(page)).toBe('x\n\nHello world');
  });

  it('passes CDATA through as it is, ESI tags in it unprocessed, as Varnish does', () => {
    const page = 'a<![CDATA[foo<esi:remove>bar<esi:include src="/x"/>]]>b<esi:remove>gone</esi:remove>c';
    expect(cutEverywhere(page)).toBe('a<![CDATA[foo<esi:remove>bar<esi:include src="/x"/>]]>bc');
  });

  it('leaves ESI tags inside an HTML comment alone even when the comment opens in an earlier chunk, as Varnish does', () => {
    const page = '<p>x</p><!-- note <esi:remove> <esi:include src="/x"/> -->after<esi:remove>gone</esi:remove>';
    expect(cutEverywhere(page)).toBe('<p>x</p><!-- note <esi:remove> <esi:include src="/x"/> -->after');
  });
});

describe('malformed markup and split reads', () => {
  it('passes elements that only look like ESI (<esX>, <esi/>, <f<esi?) through untouched, as Varnish does', () => {
    expect(cutEverywhere('<f<esi?\n<esX>Hello <a>   <esi/>  <esi:remove>bar</esi:remove>foo')).toBe('<f<esi?\n<esX>Hello <a>   <esi/>  foo');
  });

  it('keeps an incomplete tag opening at the end of the response, as Ledge and cloudflare-esi do', () => {
    expect(cutEverywhere('---<esi:vars>$(QUERY_STRING)</esi:vars><es', 'https://shop.test/page?a=1')).toBe('---a=1<es');
  });

  it('leaves a reference whose unquoted default holds spaces as written, and uses quoted and one-word defaults, as Ledge and cloudflare-esi do', () => {
    const page =
      "<esi:vars>$(QUERY_STRING{a}|novalue) $(QUERY_STRING{b}|novalue) $(QUERY_STRING{c}|'quoted values can have spaces') $(QUERY_STRING{d}|unquoted values must not have spaces)</esi:vars>";
    expect(cutEverywhere(page)).toBe('1 novalue quoted values can have spaces $(QUERY_STRING{d}|unquoted values must not have spaces)');
  });

  it('applies ESI to a tag split across reads with a pause inside it, as Varnish and Ledge do', async () => {
    const net = upstream({
      '/page': () => esiPage(paused(['<p>a</p><esi:rem', 'ove>\nUnseen</esi:re', 'move><esi:incl', 'ude src="/f', '"/><!--e', 'si <b>b</b> -', '->'])),
      '/f': () => html('F'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe('<p>a</p>F <b>b</b> ');
  });

  it('decodes XML entity references in an include src (&amp; &lt; &gt; &apos; &quot;), as Varnish does', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/f?v=&lt;&gt;&apos;&quot;&amp;w=2"/>'),
      '/f': (_, url) => html(`[${url.searchParams.get('v')}|${url.searchParams.get('w')}]`),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe(`[<>'"|2]`);
  });

  it('renders nothing for an include without a usable src and keeps the page, and reads an unquoted src, as Varnish does', async () => {
    const net = upstream({
      '/page': () => esiPage('a<esi:include aaa />b<esi:include src/>c<esi:include src= />d<esi:include foo=bar src=/body2 />e'),
      '/body2': () => html('BODY2'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe('abcdBODY2e');
  });

  it('fills an include left open (no "/" and no end tag) and keeps what follows, as Varnish does', async () => {
    const net = upstream({
      '/page': () => esiPage('<4><esi:include src="/foo"><esi:incl><4><p>after</p>'),
      '/foo': () => html('INCL'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe('<4>INCL<4><p>after</p>');
  });
});
