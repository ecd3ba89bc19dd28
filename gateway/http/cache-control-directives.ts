/**
 * The origin's Cache-Control as the page's headers start from it, read so
 * that what goes out is never looser than any downstream cache could have
 * read the origin's header. Caches disagree on odd input: some split at every
 * comma and match names case-sensitively (http-cache-semantics), some honour
 * quotes and escapes (RFC 9111, browsers), some take the first of two values
 * and some the last. So only a header they all read alike is taken as it is:
 *
 * - lower-case directive names, each once;
 * - values that are plain tokens (ages in digits), except a field list of
 *   plain header names in `no-cache="…"` or `private="…"`, which every reader
 *   takes as at least that directive;
 *
 * and any other header (uppercase, repeated, quoted or escaped values, a
 * quote left open, stray characters) reads as `private, no-cache`, plus
 * `no-store` when those letters appear anywhere in it: stricter than any
 * reading of it. Extension directives are left out (one named like a known
 * directive, `x-s-maxage`, reads at its strictest). Without Cache-Control,
 * `Pragma: no-cache` counts as `no-cache`, as caches read it.
 *
 * A value is kept as it is to be written back (a field list quoted);
 * `undefined` is a bare directive.
 */
export type Directives = Map<string, string | undefined>;

const NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const FIELD_LIST = /^"([^"\\]*)"$/;
const AGES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);
/** Directives that take no value: one written with a value is read differently by different caches. */
const BARE = new Set(['public', 'no-store', 'must-revalidate', 'proxy-revalidate', 'no-transform', 'immutable', 'must-understand']);
const KNOWN = new Set([...AGES, ...BARE, 'no-cache', 'private']);
const LOOKS_KNOWN = /max-?age|stale|store|cache|private|public|immutable|revalidate|understand/;

export function originDirectives(origin: Headers): Directives {
  const header = origin.get('cache-control');
  if (header === null) return /no-cache/i.test(origin.get('pragma') ?? '') ? new Map([['no-cache', undefined]]) : new Map();
  return parseDirectives(header);
}

export function parseDirectives(header: string): Directives {
  const items = splitItems(header);
  if (!items) return strictest(header);
  const directives: Directives = new Map();
  for (const item of items) {
    const equals = item.indexOf('=');
    const name = equals === -1 ? item : item.slice(0, equals);
    const value = equals === -1 ? undefined : item.slice(equals + 1);
    if (!NAME.test(name) || directives.has(name)) return strictest(header);
    if (value === undefined) {
      if (!AGES.has(name)) directives.set(name, undefined);
      else return strictest(header);
    } else if (AGES.has(name)) {
      if (!/^\d+$/.test(value)) return strictest(header);
      directives.set(name, String(Number(value)));
    } else if (name === 'no-cache' || name === 'private') {
      const list = fieldList(value);
      if (list === undefined) return strictest(header);
      directives.set(name, list);
    } else if (BARE.has(name) || !TOKEN.test(value)) return strictest(header);
    else directives.set(name, value);
  }
  // An extension some cache may mistake for a directive it knows (nginx finds `max-age=` anywhere in the header) reads at its strictest; any other is left out.
  for (const name of directives.keys()) {
    if (KNOWN.has(name)) continue;
    if (LOOKS_KNOWN.test(name)) return strictest(header);
    directives.delete(name);
  }
  return directives;
}

export function serialiseDirectives(directives: Directives): string {
  return [...directives].map(([name, value]) => (value === undefined ? name : `${name}=${value}`)).join(', ');
}

/**
 * The header's items, trimmed of spaces and tabs, empty ones left out; a
 * comma splits only outside a double-quoted string. `undefined` when a quote
 * is left open. One pass over the header.
 */
function splitItems(header: string): string[] | undefined {
  const items: string[] = [];
  let start = 0;
  let quoted = false;
  for (let at = 0; at <= header.length; at++) {
    const char = header[at];
    if (quoted) {
      if (char === '"') quoted = false;
      else if (char === undefined) return undefined;
    } else if (char === '"') quoted = true;
    else if (char === ',' || char === undefined) {
      const item = trimmed(header, start, at);
      if (item) items.push(item);
      start = at + 1;
    }
  }
  return items;
}

/** `header` from `start` to `end` without the spaces and tabs at either end (HTTP's whitespace; not String.trim's, which takes a no-break space too). */
function trimmed(header: string, start: number, end: number): string {
  let from = start;
  let to = end;
  while (from < to && (header[from] === ' ' || header[from] === '\t')) from++;
  while (to > from && (header[to - 1] === ' ' || header[to - 1] === '\t')) to--;
  return header.slice(from, to);
}

/** `"Set-Cookie, X-Id"` as it is to be written back, or `undefined` unless it is a quoted list of plain header names, none a directive a cache acts on. */
function fieldList(value: string): string | undefined {
  const quoted = FIELD_LIST.exec(value);
  if (!quoted) return undefined;
  const names = quoted[1].split(',').map((name) => trimmed(name, 0, name.length));
  if (names.some((name) => !TOKEN.test(name) || KNOWN.has(name.toLowerCase()))) return undefined;
  return `"${names.join(', ')}"`;
}

/** What a header caches do not all read alike reads as: stricter than any of their readings. */
function strictest(header: string): Directives {
  const directives: Directives = new Map([
    ['private', undefined],
    ['no-cache', undefined],
  ]);
  if (/no-store/i.test(header)) directives.set('no-store', undefined);
  return directives;
}
