/**
 * Cache-Control directives as the page's headers rewrite them: read so that
 * whatever goes out is never looser than how any downstream cache would have
 * read the origin's header. Caches disagree on odd input: some split at every
 * comma (http-cache-semantics), some honour quotes (RFC 9111, browsers), some
 * take the last of two values and some the first. So:
 *
 * - a header that is not well formed (a quote left open, a directive name or
 *   value that is not a token or a quoted string) reads as `no-store`;
 * - of two `max-age` or `s-maxage`, the smaller counts; a bare `no-cache` or
 *   `private` wins over a field-list one; of other repeats, the first;
 * - a field list (`no-cache="Set-Cookie, X-Id"`) is kept only when every item
 *   is a plain header name and none is a directive a cache would act on;
 *   otherwise the directive goes bare, which is stricter;
 * - any other quoted value holding a comma, `=` or a quote (a directive
 *   tucked inside, for a cache that splits at commas) drops its directive.
 *
 * A value is kept as it is to be written back (a field list quoted); `undefined`
 * is a bare directive.
 */
export type Directives = Map<string, string | undefined>;

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;
const QUOTED = /^"((?:[^"\\]|\\.)*)"$/;
/** Directives a cache acts on: never accepted as a field name inside a list. */
const ACTED_ON = new Set([
  'max-age',
  's-maxage',
  'no-cache',
  'no-store',
  'private',
  'public',
  'must-revalidate',
  'proxy-revalidate',
  'no-transform',
  'immutable',
  'stale-while-revalidate',
  'stale-if-error',
  'must-understand',
]);

export function parseDirectives(header: string | null): Directives {
  const directives: Directives = new Map();
  if (!header) return directives;
  const parts = splitOutsideQuotes(header);
  if (!parts) return malformed();
  for (const part of parts) {
    const item = trimWhitespace(part);
    if (!item) continue;
    const equals = item.indexOf('=');
    const name = (equals === -1 ? item : trimWhitespace(item.slice(0, equals))).toLowerCase();
    if (!TOKEN.test(name)) return malformed();
    if (equals === -1) {
      add(directives, name, undefined);
      continue;
    }
    const raw = trimWhitespace(item.slice(equals + 1));
    const quoted = QUOTED.exec(raw);
    if (!quoted && !TOKEN.test(raw)) return malformed();
    const value = quoted ? quoted[1].replace(/\\(.)/g, '$1') : raw;
    if (name === 'max-age' || name === 's-maxage') add(directives, name, /^\d+$/.test(value) ? String(Number(value)) : '0');
    else if (name === 'no-cache' || name === 'private') add(directives, name, fieldList(value));
    else if (!quoted) add(directives, name, raw);
    else if (!/[,="]/.test(value)) add(directives, name, `"${value}"`);
  }
  return directives;
}

export function serialiseDirectives(directives: Directives): string {
  return [...directives].map(([name, value]) => (value === undefined ? name : `${name}=${value}`)).join(', ');
}

/** The header's comma-separated items, commas inside a quoted string left alone; `undefined` when a quote is left open. */
function splitOutsideQuotes(header: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let at = 0; at < header.length; at++) {
    const char = header[at];
    if (quoted) {
      if (char === '\\') at++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      parts.push(header.slice(start, at));
      start = at + 1;
    }
  }
  if (quoted) return undefined;
  parts.push(header.slice(start));
  return parts;
}

/** HTTP's optional whitespace is spaces and tabs only (String.prototype.trim would also take a no-break space). */
function trimWhitespace(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** A field list written back quoted, or `undefined` (bare, stricter) when an item is not a plain header name or names a directive. */
function fieldList(value: string): string | undefined {
  const names = value.split(',').map(trimWhitespace);
  if (names.some((name) => !TOKEN.test(name) || ACTED_ON.has(name.toLowerCase()))) return undefined;
  return `"${names.join(', ')}"`;
}

function add(directives: Directives, name: string, value: string | undefined): void {
  if (!directives.has(name)) {
    directives.set(name, value);
    return;
  }
  const known = directives.get(name);
  if (name === 'max-age' || name === 's-maxage') directives.set(name, String(Math.min(Number(known), Number(value))));
  else if (name === 'no-cache' || name === 'private') directives.set(name, known === undefined || value === undefined || known !== value ? undefined : known);
}

function malformed(): Directives {
  return new Map([['no-store', undefined]]);
}
