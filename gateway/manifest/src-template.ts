import type { SrcTemplate, TemplatePart, TemplateSource } from '../types';

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

export class TemplateError extends Error {}

export function parseSrcTemplate(raw: string): SrcTemplate {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of raw.matchAll(VARIABLE)) {
    if (match.index > last) parts.push(raw.slice(last, match.index));
    parts.push(parseVariable(match[1]));
    last = match.index + match[0].length;
  }
  if (last < raw.length) parts.push(raw.slice(last));
  const stray = parts.find((p) => typeof p === 'string' && /[{}]/.test(p));
  if (stray !== undefined) throw new TemplateError(`expected variables in balanced braces such as ${TEMPLATE_HINT}, got "${raw}"`);
  return { raw, parts };
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

/** Names of route parameters a template uses, to check them against the route patterns. */
export function templateParams(template: SrcTemplate): string[] {
  return template.parts.flatMap((p) => (typeof p !== 'string' && p.source === 'params' ? [p.name] : []));
}
