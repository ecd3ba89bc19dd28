import type { SrcTemplate, TemplatePart, TemplateSource } from '../contract/types';

/**
 * Parses a fragment `src` such as `/v1/{params.id}?cur={cookie.currency|EUR}`
 * into literal text and variable parts. Done at build time so the request path
 * only concatenates.
 */
const SOURCES: readonly TemplateSource[] = ['params', 'query', 'cookie', 'header', 'geo'];

/** Whether a template reads the user's segment. */
export function usesSegment(template: SrcTemplate | undefined): boolean {
  return !!template?.parts.some((p) => typeof p !== 'string' && p.source === 'segment');
}
const GEO_FIELDS = ['country'];
const VARIABLE = /\{([^{}]*)\}/g;

export const TEMPLATE_HINT = '{params.NAME}, {query.NAME}, {cookie.NAME}, {header.NAME}, {geo.country} or {segment} (optionally with |default)';

export class TemplateError extends Error {
  constructor(
    message: string,
    /** Where in the src the problem is (the variable's `{`). */
    readonly offset = 0,
  ) {
    super(message);
  }
}

export function parseSrcTemplate(raw: string): SrcTemplate {
  const checked = checkSrcTemplate(raw);
  if (checked.errors.length) throw checked.errors[0];
  return checked.template as SrcTemplate;
}

/** The template, or every problem in it (each bad variable, with where it is). */
export function checkSrcTemplate(raw: string): { template?: SrcTemplate; errors: TemplateError[]; offsets: number[] } {
  const parts: TemplatePart[] = [];
  const errors: TemplateError[] = [];
  /** Where each variable part starts, in order. */
  const offsets: number[] = [];
  let last = 0;
  for (const match of raw.matchAll(VARIABLE)) {
    if (match.index > last) parts.push(raw.slice(last, match.index));
    try {
      parts.push(parseVariable(match[1]));
      offsets.push(match.index);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      errors.push(new TemplateError(error.message, match.index));
    }
    last = match.index + match[0].length;
  }
  if (last < raw.length) parts.push(raw.slice(last));
  const stray = /[{}]/.exec(raw.replace(VARIABLE, (m) => ' '.repeat(m.length)));
  if (stray) errors.push(new TemplateError(`expected variables in balanced braces such as ${TEMPLATE_HINT}, got "${raw}"`, stray.index));
  return errors.length ? { errors, offsets } : { template: { raw, parts }, errors, offsets };
}

function parseVariable(body: string): TemplatePart {
  const bar = body.indexOf('|');
  const name = (bar === -1 ? body : body.slice(0, bar)).trim();
  const fallback = bar === -1 ? undefined : body.slice(bar + 1);
  if (name === 'segment') return { source: 'segment', name: '', default: fallback };
  const dot = name.indexOf('.');
  const source = name.slice(0, dot) as TemplateSource;
  const key = name.slice(dot + 1);
  if (dot <= 0 || !key || !SOURCES.includes(source)) {
    throw new TemplateError(`expected a variable such as ${TEMPLATE_HINT}, got {${body}}`);
  }
  if (source === 'geo' && !GEO_FIELDS.includes(key)) {
    throw new TemplateError(`expected {geo.country}, the only geo variable, got {${body}}`);
  }
  return { source, name: source === 'header' ? key.toLowerCase() : key, default: fallback };
}

/** Route parameters a template uses, with where each sits, to check them against the route patterns. */
export function templateParams(template: SrcTemplate, offsets: readonly number[] = []): Array<{ name: string; offset: number }> {
  const variables = template.parts.filter((p) => typeof p !== 'string');
  return variables.flatMap((p, i) => (p.source === 'params' ? [{ name: p.name, offset: offsets[i] ?? 0 }] : []));
}
