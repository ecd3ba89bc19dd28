import { beforeAll, describe, expect, it } from 'vitest';
import { ESI_VARIABLES } from '../../../gateway/contract/esi-variable-names';
import { EsiExpressionError, evaluate } from '../../../gateway/markup/esi-expression';
import { interpolate } from '../../../gateway/markup/esi-interpolate';
import { loadRegexEngine, regexEngine } from '../../../gateway/regex-engine';
import { EsiVariables } from '../../../gateway/request/esi-variables';
import { RequestReadings } from '../../../gateway/request/request-readings';

function variables(headers: Record<string, string> = {}, url = 'https://shop.test/p?q=shoes&n=5') {
  return new EsiVariables(new RequestReadings(new Request(url, { headers })), new URL(url), new Set(ESI_VARIABLES));
}

// Patterns run on re2js, a module of its own that the gateway loads before a page runs ESI (gateway/regex-engine.ts).
beforeAll(() => loadRegexEngine());

describe('the ESI expression language', () => {
  it('has its regular expression engine, loaded from the module beside the bundle', () => {
    expect('RE2JS' in regexEngine()).toBe(true);
  });

  const vars = variables({
    cookie: 'tier=gold; visits=12',
    'user-agent': 'Mozilla/5.0 (Windows NT 10.0) Firefox/120.0',
    'accept-language': 'de-CH, en;q=0.5',
  });
  const cases: Array<[string, boolean]> = [
    ["$(HTTP_COOKIE{tier}) == 'gold'", true],
    ["$(HTTP_COOKIE{tier}) != 'gold'", false],
    ['$(HTTP_COOKIE{visits}) > 9', true], // numbers compare as numbers, not as text
    ['$(HTTP_COOKIE{visits}) <= 11', false],
    ["!($(HTTP_COOKIE{tier}) == 'silver') && $(QUERY_STRING{n}) >= 5", true],
    ["$(HTTP_COOKIE{none}) == '' || false", true],
    ["$(HTTP_COOKIE{none}|'x') == 'x'", true],
    ["$(HTTP_USER_AGENT{browser}) == 'MOZILLA' & $(HTTP_USER_AGENT{os}) == 'WIN'", true],
    ['$(HTTP_ACCEPT_LANGUAGE{de})', true],
    ['$(HTTP_ACCEPT_LANGUAGE{fr})', false],
    ["$(QUERY_STRING{q}) has 'hoe'", true],
    ["$(QUERY_STRING{q}) has_i 'HOE'", true],
    ["$(HTTP_USER_AGENT) matches '''Firefox/\\d+'''", true],
    ["$(HTTP_USER_AGENT) matches_i 'firefox'", true],
    ["$(QUERY_STRING{q}) =~ '/^SH/i' and $(QUERY_STRING{n}) == 5", true],
    ["$(QUERY_STRING{q}) =~ '/^SH/' or 1 == 2", false],
  ];
  for (const [expression, expected] of cases) {
    it(`evaluates ${expression} to ${expected}`, () => expect(evaluate(expression, vars)).toBe(expected));
  }

  it('says where an expression stops making sense', () => {
    expect(() => evaluate('(1 == ', vars)).toThrow(EsiExpressionError);
    expect(() => evaluate("'a' == 'b' 'c'", vars)).toThrow(/column 12/);
  });

  it('runs a pattern that would make a backtracking engine hang in linear time', () => {
    const hostile = variables({ cookie: `x=${'a'.repeat(4000)}!` });
    const started = Date.now();
    expect(evaluate("$(HTTP_COOKIE{x}) matches '''^(a+)+$'''", hostile)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('ESI variables in text and URLs', () => {
  it('percent-encodes in URLs and escapes in markup, so a value can add no markup, path or header', () => {
    const vars = variables({}, `https://shop.test/p?v=${encodeURIComponent('../a"b<c>\r\nX-Evil: 1')}`);
    expect(interpolate('/frag?v=$(QUERY_STRING{v})', vars, 'url')).toBe('/frag?v=..%2Fa%22b%3Cc%3E%0D%0AX-Evil%3A%201');
    expect(interpolate('<p>$(QUERY_STRING{v})</p>', vars, 'html')).toBe('<p>../a&#34;b&#60;c&#62;\r\nX-Evil: 1</p>');
  });

  it('cuts very long values', () => {
    const vars = variables({ cookie: `v=${'x'.repeat(100_000)}` });
    expect(interpolate('$(HTTP_COOKIE{v})', vars, 'none')).toHaveLength(4096);
  });
});
