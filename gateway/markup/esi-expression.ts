import type { RE2JS } from 're2js';
import { regexEngine } from '../regex-engine';
import type { EsiVariables } from '../request/esi-variables';

/**
 * The ESI expression language of `<esi:when test>`: comparisons (`==`, `!=`,
 * `<`, `>`, `<=`, `>=`), `!`, `&&`/`&`/`and`, `||`/`|`/`or`, parentheses,
 * quoted strings (`'…'`, or `'''…'''` for patterns), numbers, variables,
 * Akamai's `has`, `has_i`, `matches`, `matches_i`, and `=~ '/pattern/i'`. Operands compare as numbers when
 * both are numbers, else as strings. Patterns run on RE2 (linear time), so
 * no pattern can hang the Worker; the engine is loaded apart from the bundle
 * (regex-engine.ts), and a request awaits `loadRegexEngine()` before its page
 * runs ESI. An expression that does not parse throws an `EsiExpressionError`
 * saying where; so does a pattern test when the engine could not be loaded.
 */
export class EsiExpressionError extends Error {}

type Token =
  | { kind: 'op'; value: string; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'variable'; name: string; key?: string; fallback?: string; at: number };

type Value = string | number | boolean;

const OPERATORS = ['==', '!=', '=~', '<=', '>=', '&&', '||', '<', '>', '!', '&', '|', '(', ')'];
const WORD_OPERATORS = ['has_i', 'has', 'matches_i', 'matches', 'and', 'or'];
const MAX_PATTERN = 1024;
const patterns = new Map<string, RE2JS>();

export function evaluate(expression: string, variables: EsiVariables): boolean {
  const tokens = tokenize(expression);
  let at = 0;
  const peek = () => tokens[at];
  const isOp = (...values: string[]) => {
    const token = peek();
    return token?.kind === 'op' && values.includes(token.value);
  };
  const fail = (message: string): never => {
    const token = peek();
    throw new EsiExpressionError(`${message} at ${token ? `column ${token.at + 1}` : 'the end'} of "${expression}"`);
  };

  const or = (): Value => {
    let value = and();
    while (isOp('||', '|', 'or')) {
      at++;
      const right = and();
      value = truthy(value) || truthy(right);
    }
    return value;
  };
  const and = (): Value => {
    let value = unary();
    while (isOp('&&', '&', 'and')) {
      at++;
      const right = unary();
      value = truthy(value) && truthy(right);
    }
    return value;
  };
  const unary = (): Value => {
    if (isOp('!')) {
      at++;
      return !truthy(unary());
    }
    return comparison();
  };
  const comparison = (): Value => {
    const left = operand();
    const token = peek();
    if (token?.kind !== 'op' || !isComparison(token.value)) return left;
    at++;
    return compare(token.value, left, operand());
  };
  const operand = (): Value => {
    const token = peek();
    if (!token) return fail('expected a value');
    if (token.kind === 'op') {
      if (token.value !== '(') return fail(`unexpected "${token.value}"`);
      at++;
      const value = or();
      if (!isOp(')')) fail('expected ")"');
      at++;
      return value;
    }
    at++;
    if (token.kind === 'variable') return variables.get(token.name, token.key) ?? token.fallback ?? '';
    return token.value;
  };

  const result = or();
  if (at < tokens.length) fail('unexpected text');
  return truthy(result);
}

function isComparison(op: string): boolean {
  return ['==', '!=', '=~', '<', '>', '<=', '>=', 'has', 'has_i', 'matches', 'matches_i'].includes(op);
}

function compare(op: string, left: Value, right: Value): boolean {
  const a = String(left);
  const b = String(right);
  switch (op) {
    case 'has':
      return a.includes(b);
    case 'has_i':
      return a.toLowerCase().includes(b.toLowerCase());
    case 'matches':
    case 'matches_i':
      return pattern(b, op === 'matches_i')
        .matcher(a)
        .find();
    case '=~': {
      // Ledge's form: '/pattern/flags'.
      const literal = /^\/(.*)\/([a-z]*)$/s.exec(b);
      return pattern(literal ? literal[1] : b, literal?.[2].includes('i') ?? false)
        .matcher(a)
        .find();
    }
  }
  const numeric = isNumber(left) && isNumber(right);
  const x = numeric ? Number(left) : a;
  const y = numeric ? Number(right) : b;
  switch (op) {
    case '==':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    default:
      return x >= y;
  }
}

function pattern(source: string, ignoreCase: boolean): RE2JS {
  if (source.length > MAX_PATTERN) throw new EsiExpressionError(`pattern longer than ${MAX_PATTERN} characters`);
  const key = `${ignoreCase ? 'i' : ''}/${source}`;
  let compiled = patterns.get(key);
  if (!compiled) {
    const engine = regexEngine();
    if ('unavailable' in engine) throw new EsiExpressionError(`no regular expression engine to run '${source}' with (${engine.unavailable})`);
    try {
      compiled = engine.RE2JS.compile(source, ignoreCase ? engine.RE2JS.CASE_INSENSITIVE : 0);
    } catch (error) {
      throw new EsiExpressionError(`invalid pattern '${source}': ${error instanceof Error ? error.message : error}`);
    }
    if (patterns.size > 256) patterns.clear();
    patterns.set(key, compiled);
  }
  return compiled;
}

function isNumber(value: Value): boolean {
  return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
}

/** A value alone is true unless it is empty, "false" or 0. */
function truthy(value: Value): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  return value !== '' && value !== 'false' && value !== '0';
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const error = (message: string): never => {
    throw new EsiExpressionError(`${message} at column ${i + 1} of "${expression}"`);
  };
  while (i < expression.length) {
    const c = expression[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (expression.startsWith("'''", i)) {
      const end = expression.indexOf("'''", i + 3);
      if (end === -1) error("unterminated '''");
      tokens.push({ kind: 'string', value: expression.slice(i + 3, end), at });
      i = end + 3;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = expression.indexOf(c, i + 1);
      if (end === -1) error(`unterminated ${c}`);
      tokens.push({ kind: 'string', value: expression.slice(i + 1, end), at });
      i = end + 1;
      continue;
    }
    if (expression.startsWith('$(', i)) {
      const end = expression.indexOf(')', i);
      if (end === -1) error('unterminated $(');
      const match = /^\$\(([A-Z_]+)(?:\{([^}]*)\})?(?:\|('[^']*'|[^)]*))?\)$/.exec(expression.slice(i, end + 1));
      if (!match) error('malformed variable');
      const fallback = match?.[3]?.trim().replace(/^'(.*)'$/, '$1');
      tokens.push({ kind: 'variable', name: match?.[1] ?? '', key: match?.[2], fallback, at });
      i = end + 1;
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?/.exec(expression.slice(i));
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), at });
      i += number[0].length;
      continue;
    }
    const word = WORD_OPERATORS.find((w) => expression.startsWith(w, i) && !/\w/.test(expression[i + w.length] ?? ''));
    if (word) {
      tokens.push({ kind: 'op', value: word, at });
      i += word.length;
      continue;
    }
    if (/^true\b/.test(expression.slice(i)) || /^false\b/.test(expression.slice(i))) {
      const value = expression.startsWith('true', i) ? 'true' : 'false';
      tokens.push({ kind: 'string', value, at });
      i += value.length;
      continue;
    }
    const op = OPERATORS.find((o) => expression.startsWith(o, i));
    if (!op) error(`unexpected "${c}"`);
    tokens.push({ kind: 'op', value: op ?? '', at });
    i += op?.length ?? 1;
  }
  return tokens;
}
