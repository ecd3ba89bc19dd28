import { ESI_ARG_PREFIX } from '../contract/esi-variable-names';
import type { SrcTemplate, TemplateVariable } from '../contract/types';
import { type Assignment, ExperimentArms } from './experiment-assignment';
import type { VisitorRequest } from './visitor-request';

/**
 * The request values a fragment `src` may use, read from the page's one
 * `VisitorRequest`: the query without the gateway's switches, cookies from
 * its one parse (decoded), geo from its one reading of `request.cf`.
 */
export class RequestVars {
  constructor(
    private readonly visitor: VisitorRequest,
    /** The visitor's segment, looked up before any fragment starts; absent when unknown. */
    private readonly segment?: string,
    /** The page's arm of each experiment, decided before any fragment starts. */
    private readonly arms: ExperimentArms = ExperimentArms.NONE,
  ) {}

  /** The page's arm of an experiment; undefined for one its route does not have. */
  arm(experiment: string): Assignment | undefined {
    return this.arms.of(experiment);
  }

  get(variable: Pick<TemplateVariable, 'source' | 'name'>): string | undefined {
    switch (variable.source) {
      case 'params':
        return this.visitor.params[variable.name];
      case 'query':
        if (variable.name.startsWith(ESI_ARG_PREFIX)) this.visitor.noteUnkeyedRead('url'); // left out of the page key where the route reads ESI_ARGS
        return this.visitor.visitorUrl.searchParams.get(variable.name) ?? undefined;
      case 'header':
        return this.visitor.header(variable.name);
      case 'cookie':
        return this.visitor.cookie(variable.name);
      case 'segment':
        return this.segment;
      case 'geo': {
        const country = this.visitor.geo()?.country;
        return typeof country === 'string' ? country : undefined;
      }
    }
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
