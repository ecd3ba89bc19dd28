import { escapeHtml } from '../lib/escape-html';
import type { Landing } from './html-context';

/**
 * A variable's value encoded for where it lands in the page, as a contextual
 * auto-escaper does (Go's html/template is the model): so that the value is
 * only ever read as data there, never as markup, an attribute, script, style
 * or a URL scheme. Where no encoding makes that true the value is refused,
 * and the reason says why.
 */
export type Escaped = { ok: true; text: string } | { ok: false; reason: string };

const SCHEMES = new Set(['http', 'https', 'mailto']);
/** What a value in CSS may hold: enough for a colour, a size or a class-like word, never a function, string or rule. */
const CSS_SAFE = /^[A-Za-z0-9\-_.#% ]*$/;
/** What an unquoted value writes as a reference: all but letters, digits and `_ . % -`, which can neither end nor quote it. */
const UNQUOTED_ESCAPES = /[^A-Za-z0-9_.%-]/g;
/** Characters kept as they are in a URL that a value starts: the ones a URL is written with, less quotes and backslash. */
const URL_UNSAFE = /[^A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]/gu;

export function escapeFor(landing: Landing, value: string): Escaped {
  switch (landing.in) {
    case 'text':
      return { ok: true, text: escapeHtml(value) };
    case 'comment':
      // Numeric references are not decoded in a comment, so nothing in the value can spell `-->` or `--!>`.
      return { ok: true, text: escapeHtml(value).replace(/[-!]/g, numericReference) };
    case 'script':
      return { ok: true, text: escapeScript(value) };
    case 'style':
      return CSS_SAFE.test(value) ? { ok: true, text: value } : refused('in a style sheet a value may hold only letters, digits, spaces and - _ . # %');
    case 'tag':
      return refused('a value cannot name a tag or an attribute');
    case 'cut':
      return refused('a value cannot finish a tag the page started (`<`, `</name`)');
    case 'attribute': {
      const inner = attributeValue(landing.kind, landing.atStart, value);
      if (!inner.ok) return inner;
      return { ok: true, text: landing.quote ? escapeHtml(inner.text) : inner.text.replace(UNQUOTED_ESCAPES, numericReference) };
    }
  }
}

/** The value as the attribute's reader (a URL parser, the script engine, CSS) must see it, before the attribute's own escaping. */
function attributeValue(kind: Extract<Landing, { in: 'attribute' }>['kind'], atStart: boolean, value: string): Escaped {
  switch (kind) {
    case 'plain':
      return { ok: true, text: value };
    case 'handler':
      // The attribute's references are decoded before the script runs: the script escape must hold without them.
      return { ok: true, text: escapeScript(value) };
    case 'style':
      return CSS_SAFE.test(value) ? { ok: true, text: value } : refused('in a style attribute a value may hold only letters, digits, spaces and - _ . # %');
    case 'markup':
      return refused('a value cannot be part of a srcdoc document');
    case 'srcset':
      return { ok: true, text: strictComponent(value) };
    case 'url':
      if (!atStart) {
        if (value === '.' || value === '..') return refused('a value of "." or ".." would move the URL\'s path');
        return { ok: true, text: strictComponent(value) };
      }
      if (!allowedScheme(value)) return refused('a URL a value starts may only be relative or use http:, https: or mailto:');
      return { ok: true, text: value.replace(URL_UNSAFE, (c) => encodeURIComponent(wellFormed(c)).replace(/'/g, '%27')) };
  }
}

/** The scheme a browser would read, after it drops leading control characters and spaces, and tabs and newlines anywhere. */
function allowedScheme(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what browsers strip here
  const url = value.replace(/^[\u0000-\u0020]+/, '').replace(/[\t\n\r]/g, '');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1];
  return scheme === undefined || SCHEMES.has(scheme.toLowerCase());
}

/** Every character but letters and digits as `\uXXXX`: it can neither end a string, a comment or a tag, nor start one. */
function escapeScript(value: string): string {
  return value.replace(/[^A-Za-z0-9]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Percent-encoding of one URL component, RFC 3986's unreserved characters only. */
function strictComponent(value: string): string {
  return encodeURIComponent(wellFormed(value)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Lone surrogates, which percent-encoding cannot express, as U+FFFD. */
function wellFormed(value: string): string {
  return value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function numericReference(c: string): string {
  return `&#${c.codePointAt(0)};`;
}

function refused(reason: string): Escaped {
  return { ok: false, reason };
}
