import type { CompiledRoute } from '../contract/types';
import { routeVisitorInputs } from '../request/visitor-inputs';

/**
 * Cache headers for an assembled page: it is as cacheable as its least
 * cacheable part. Whatever a fragment reads from the visitor makes the page
 * `private`, or adds a `Vary` that covers it (see visitor-inputs.ts); a
 * personalised page is never left publicly cacheable. The origin's own
 * directives are only ever tightened, never loosened, and no freshness is
 * added that the origin did not grant. Computed from the manifest, since the
 * headers leave before the fragments arrive.
 */
export interface PageCacheHeaders {
  /** `null`: send no Cache-Control. */
  cacheControl: string | null;
  /** `null`: send no Vary. */
  vary: string | null;
}

export function pageCacheHeaders(origin: Headers, route: CompiledRoute, esiActive: boolean): PageCacheHeaders {
  const cacheControl = origin.get('cache-control');
  const originVary = origin.get('vary');
  const fragments = Object.values(route.fragments);
  // A page cached per visitor input (`page.vary`) tells downstream caches so even with no fragments.
  if (fragments.length === 0 && !esiActive && !route.page?.vary.length) return { cacheControl, vary: originVary };

  const inputs = routeVisitorInputs(route, esiActive);
  const directives = parse(cacheControl);
  const vary = mergeVary(originVary, inputs.vary);
  if (directives.has('no-store')) return { cacheControl, vary };

  const ttls = fragments.flatMap((f) => [f.ttlMs, ...(f.experiment?.variants.map((v) => v.fields.ttlMs) ?? [])]); // every arm's
  if (esiActive) ttls.push(route.defaults.ttlMs); // undeclared includes get the defaults
  const fragmentSeconds = Math.floor(Math.min(...ttls) / 1000);

  if (inputs.private || directives.has('private')) makePrivate(directives);
  if (fragmentSeconds === 0) {
    directives.delete('max-age');
    directives.delete('s-maxage');
    directives.delete('public');
    directives.delete('immutable');
    directives.set('no-cache', undefined);
  } else {
    for (const name of ['max-age', 's-maxage']) {
      const value = directives.get(name);
      if (value !== undefined) directives.set(name, String(Math.min(Number(value.replace(/^"|"$/g, '')) || 0, fragmentSeconds)));
    }
    directives.delete('immutable');
  }
  return { cacheControl: directives.size ? serialise(directives) : null, vary };
}

/**
 * The page's Cache-Control once a view turned out to read its visitor where
 * its headers could not say so beforehand (a fragment's own ESI): `private`,
 * with nothing a shared cache would act on. Only a body written whole, after
 * every part was read, can still get it.
 */
export function madePrivate(cacheControl: string | null): string {
  const directives = parse(cacheControl);
  makePrivate(directives);
  return serialise(directives);
}

/** `private`, with nothing a shared cache would act on. */
function makePrivate(directives: Map<string, string | undefined>): void {
  directives.delete('public');
  directives.delete('s-maxage');
  directives.set('private', undefined);
}

function serialise(directives: Map<string, string | undefined>): string {
  return [...directives].map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(', ');
}

/**
 * Directive name (lower case) → its value as written (quotes kept, so that a
 * field list such as `no-cache="Set-Cookie, X-Id"` goes out as it came).
 * Commas inside a quoted value do not split it; a quote left open does not
 * hide what follows it (`no-cache="a, max-age=600` still has its max-age
 * capped, as a cache that splits at every comma would read it).
 */
function parse(header: string | null): Map<string, string | undefined> {
  const directives = new Map<string, string | undefined>();
  for (const part of (header ?? '').match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const equals = part.indexOf('=');
    const name = (equals === -1 ? part : part.slice(0, equals)).trim().toLowerCase();
    if (name) directives.set(name, equals === -1 ? undefined : part.slice(equals + 1).trim());
  }
  return directives;
}

/** The origin's Vary plus `inputs` (lower-case header names), each header once; `*` already covers everything. */
export function mergeVary(origin: string | null, inputs: ReadonlySet<string>): string | null {
  const names = (origin ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.includes('*')) return '*';
  const seen = new Set(names.map((n) => n.toLowerCase()));
  for (const name of inputs) if (!seen.has(name)) names.push(name);
  return names.length ? names.join(', ') : null;
}
