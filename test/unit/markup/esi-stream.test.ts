import { describe, expect, it } from 'vitest';
import { ESI_VARIABLES } from '../../../gateway/contract/esi-variable-names';
import type { TryBlock } from '../../../gateway/contract/fragment-source';
import { EsiStream } from '../../../gateway/markup/esi-stream';
import { EsiVariables } from '../../../gateway/request/esi-variables';
import { RequestReadings } from '../../../gateway/request/request-readings';

const encoder = new TextEncoder();

function stream(headers: Record<string, string> = {}, url = 'https://shop.test/page?x=1') {
  const errors: string[] = [];
  const tries: TryBlock[] = [];
  const variables = new EsiVariables(new RequestReadings(new Request(url, { headers })), new URL(url), new Set(ESI_VARIABLES));
  const esi = new EsiStream({
    variables,
    onError: (m) => errors.push(m),
    onTry: (block) => `<tessera-try data-index="${tries.push(block) - 1}"></tessera-try>`,
  });
  return { esi, errors, tries };
}

/** The markup after ESI, fed in the given chunks. */
function apply(chunks: string[], headers: Record<string, string> = {}) {
  const { esi, errors, tries } = stream(headers);
  const decoder = new TextDecoder();
  const out = [...chunks.flatMap((c) => esi.transform(encoder.encode(c))), ...esi.flush()].map((p) => decoder.decode(p)).join('');
  return { out, errors, tries };
}

/** Every way of cutting `markup` in two gives the same result. */
function applyCutEverywhere(markup: string, headers: Record<string, string> = {}) {
  const whole = apply([markup], headers).out;
  for (let cut = 1; cut < markup.length; cut++) expect(apply([markup.slice(0, cut), markup.slice(cut)], headers).out, `cut at ${cut}`).toBe(whole);
  return whole;
}

describe('the ESI language in the page stream', () => {
  it('passes a page with includes only through untouched', () => {
    const page = '<p>a</p><esi:include src="/x"/><!-- note --><p>b</p>';
    expect(applyCutEverywhere(page)).toBe(page);
  });

  it('drops esi:remove in every form with what it holds, esi:comment tags (an empty element: what follows one stays), and the stray end tag of a paired include', () => {
    const page =
      'a<esi:remove/>b<esi:remove>no<esi:include src="/no"/><esi:comment>x</esi:comment>no</esi:remove>c<esi:comment text="x"/>d<esi:comment>kept</esi:comment>e<esi:include src="/i"></esi:include>f';
    expect(applyCutEverywhere(page)).toBe('abcdkepte<esi:include src="/i">f');
  });

  it('unwraps <!--esi … --> and processes what it holds', () => {
    expect(applyCutEverywhere('a<!--esi <esi:include src="/x"/><esi:remove>no</esi:remove> -->b<!-- plain <esi:remove> -->')).toBe(
      'a <esi:include src="/x"/> b<!-- plain <esi:remove> -->',
    );
  });

  it('renders the first esi:when that holds, else esi:otherwise, and drops the other branches unread', () => {
    const page =
      '<esi:choose><esi:when test="$(HTTP_COOKIE{tier}) == \'gold\'">G<esi:include src="/gold"/></esi:when><esi:when test="1 == 1">ONE</esi:when><esi:otherwise>O<esi:include src="/other"/></esi:otherwise></esi:choose>';
    expect(applyCutEverywhere(page, { cookie: 'tier=gold' })).toBe('G<esi:include src="/gold"/>');
    expect(applyCutEverywhere(page, { cookie: 'tier=silver' })).toBe('ONE');
    expect(apply(['<esi:choose><esi:when test="2 < 1">x</esi:when><esi:otherwise>other</esi:otherwise></esi:choose>']).out).toBe('other');
  });

  it('drops what sits between the branches, and nests', () => {
    const page =
      'a<esi:choose>\n  <esi:when test="1 == 1">\n    <esi:choose> x <esi:when test="2 == 3">no</esi:when> y <esi:otherwise>inner</esi:otherwise></esi:choose>\n  </esi:when>\n  <esi:otherwise>outer-other</esi:otherwise>\n</esi:choose>b';
    expect(applyCutEverywhere(page)).toBe('a\n    inner\n  b');
  });

  it('survives deep nesting: a thousand nested choices, and a test nested past any sensible depth', () => {
    const depth = 1000;
    const nested = `${'<esi:choose><esi:when test="1 == 1">'.repeat(depth)}core${'</esi:when></esi:choose>'.repeat(depth)}`;
    expect(apply([nested]).out).toBe('core');
    const { out, errors } = apply([`<esi:choose><esi:when test="${'('.repeat(100_000)}1">x</esi:when><esi:otherwise>o</esi:otherwise></esi:choose>`]);
    expect(out).toBe('o');
    expect(errors).toHaveLength(1);
  });

  it('reports a test that does not parse, does not take its branch, and keeps streaming', () => {
    const { out, errors } = apply(['<esi:choose><esi:when test="(1 ==">x</esi:when><esi:otherwise>o</esi:otherwise></esi:choose>after']);
    expect(out).toBe('oafter');
    expect(errors[0]).toContain('esi:when test="(1 =="');
  });

  it('substitutes variables inside esi:vars, HTML-escaped, with defaults', () => {
    const page = "<esi:vars>Hi $(HTTP_COOKIE{name}), $(HTTP_COOKIE{none}|'guest') from $(QUERY_STRING{x})</esi:vars> $(HTTP_HOST)";
    expect(applyCutEverywhere(page, { cookie: 'name=<b>"Eve"</b>' })).toBe('Hi &#60;b&#62;&#34;Eve&#34;&#60;/b&#62;, guest from 1 $(HTTP_HOST)');
  });

  it('holds an esi:try whole and hands it over as a placeholder, with both branches processed', () => {
    const { out, tries } = apply([
      'a<esi:try><esi:attempt><esi:include src="/may-fail"/><esi:remove>no</esi:remove></esi:attempt><esi:except>sorry<esi:comment text="c"/></esi:except></esi:try>b',
    ]);
    expect(out).toBe('a<tessera-try data-index="0"></tessera-try>b');
    expect(tries).toEqual([{ attempt: '<esi:include src="/may-fail"/>', except: 'sorry' }]);
  });

  it('never lets a raw ESI tag through, known or not', () => {
    expect(apply(['<esi:inline name="x">kept</esi:inline><esi:attempt>y</esi:attempt>']).out).toBe('kepty');
  });
});
