import { escapeHtml } from '../lib/escape-html';
import type { EsiVariables } from '../request/esi-variables';

/**
 * `$(NAME)`, `$(NAME{key})` and `$(NAME|default)` / `$(NAME{key}|'default')`
 * in a piece of ESI text, replaced by the variable's value encoded for where
 * it lands: percent-encoded in an include's URL (so it can only ever be data
 * inside it, never a new path segment, query parameter or host), HTML-escaped
 * in text. In the page's markup the ESI pass encodes for the exact place
 * instead (see landing-escape.ts). A reference to an unknown variable is left
 * out; one whose default is unquoted and holds a space is no reference and
 * is left as written.
 */
export type Encoding = 'url' | 'html' | 'none';

/** A default is quoted (`|'two words'`) or one word (`|guest`): `$(X|two words)` is not a reference and stays as written, as in Ledge and cloudflare-esi. */
const REFERENCE = /\$\(([A-Z_]+)(?:\{([^}]*)\})?(?:\|(\s*'[^']*'\s*|[^)\s]*))?\)/g;

export function interpolate(text: string, variables: EsiVariables, encoding: Encoding): string {
  return substitute(text, variables, (value) => encode(value, encoding));
}

/** The references in `text` replaced by what `encode` makes of each value. */
export function substitute(text: string, variables: EsiVariables, encode: (value: string) => string): string {
  if (!text.includes('$(')) return text;
  return text.replace(REFERENCE, (_, name: string, key: string | undefined, fallback: string | undefined) =>
    encode(variables.get(name, key) ?? unquote(fallback) ?? ''),
  );
}

function unquote(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed.startsWith("'") && trimmed.endsWith("'") && trimmed.length >= 2 ? trimmed.slice(1, -1) : trimmed;
}

/** A value that would be a `.` or `..` path segment: URL parsers resolve those even percent-encoded. */
export class UnsafeUrlValue extends Error {}

function encode(value: string, encoding: Encoding): string {
  switch (encoding) {
    case 'url':
      if (value === '.' || value === '..') throw new UnsafeUrlValue(`a variable's value "${value}" would move the URL's path`);
      return encodeURIComponent(value);
    case 'html':
      return escapeHtml(value);
    case 'none':
      return value;
  }
}
