import type { SrcTemplate, TemplateVariable } from '../contract/types';
import { parseCookies } from '../lib/cookies';

/**
 * The request values a fragment `src` may use. Cookies are parsed lazily:
 * most templates never touch them.
 */
export class RequestVars {
  private cookies?: Map<string, string>;

  constructor(
    private readonly request: Request,
    private readonly url: URL,
    private readonly params: Record<string, string>,
    /** The visitor's segment, looked up before any fragment starts; absent when unknown. */
    private readonly segment?: string,
  ) {}

  /** The same request's values, with the visitor's segment known. */
  withSegment(segment: string | undefined): RequestVars {
    return new RequestVars(this.request, this.url, this.params, segment);
  }

  get(variable: Pick<TemplateVariable, 'source' | 'name'>): string | undefined {
    switch (variable.source) {
      case 'params':
        return this.params[variable.name];
      case 'query':
        return this.url.searchParams.get(variable.name) ?? undefined;
      case 'header':
        return this.request.headers.get(variable.name) ?? undefined;
      case 'cookie':
        return this.cookieJar().get(variable.name);
      case 'segment':
        return this.segment;
      case 'geo': {
        const cf = (this.request as { cf?: { country?: unknown } }).cf;
        return typeof cf?.country === 'string' ? cf.country : undefined;
      }
    }
  }

  private cookieJar(): Map<string, string> {
    this.cookies ??= new Map([...parseCookies(this.request.headers.get('cookie'))].map(([name, value]) => [name, safeDecode(value)]));
    return this.cookies;
  }
}

export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export type ResolvedSrc = { ok: true; src: string } | { ok: false; problem: string };

/**
 * Substitutes request values into a template, URL-encoding each one. Encoding
 * keeps `/`, `?` and `#` from escaping the value's place, but leaves `.` alone,
 * so a value of `.` or `..` would still walk the path: it is refused.
 */
export function resolveSrc(template: SrcTemplate, vars: RequestVars): ResolvedSrc {
  let src = '';
  for (const part of template.parts) {
    if (typeof part === 'string') {
      src += part;
      continue;
    }
    const given = vars.get(part);
    // An empty value takes the default too: `?cur=` should not mean "no currency".
    const value = given === undefined || given === '' ? (part.default ?? given) : given;
    if (value === undefined) return { ok: false, problem: `no value for {${part.source}.${part.name}}` };
    if (value === '.' || value === '..')
      return { ok: false, problem: `refused the value "${value}" for {${part.source}.${part.name}}: it would walk the path` };
    src += encodeURIComponent(value);
  }
  return { ok: true, src };
}
