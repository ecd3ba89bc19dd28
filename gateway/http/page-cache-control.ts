import type { CompiledRoute } from '../contract/types';
import { routeVisitorInputs } from '../request/visitor-inputs';
import { type Directives, originDirectives, parseDirectives, serialiseDirectives } from './cache-control-directives';
import { httpDateMs } from './http-date';

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
  const directives = originDirectives(origin);
  const vary = mergeVary(originVary, inputs.vary);
  // Nothing else matters beside no-store, and a page that read its visitor says private as well.
  if (directives.has('no-store')) return { cacheControl: inputs.private || directives.has('private') ? 'no-store, private' : 'no-store', vary };

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
      if (value !== undefined) directives.set(name, String(Math.min(Number(value), fragmentSeconds)));
    }
    // An Expires with no max-age would still grant its own freshness: a max-age, which caches read before it, caps it.
    const expires = origin.get('expires');
    if (expires !== null && !directives.has('max-age'))
      directives.set('max-age', String(Math.min(expiresInSeconds(expires, origin.get('date')), fragmentSeconds)));
    directives.delete('immutable');
  }
  return { cacheControl: directives.size ? serialiseDirectives(directives) : null, vary };
}

/**
 * The page's Cache-Control once a view turned out to read its visitor where
 * its headers could not say so beforehand (a fragment's own ESI): `private`,
 * with nothing a shared cache would act on. Only a body written whole, after
 * every part was read, can still get it.
 */
export function madePrivate(cacheControl: string | null): string {
  const directives = cacheControl === null ? new Map<string, string | undefined>() : parseDirectives(cacheControl);
  makePrivate(directives);
  return serialiseDirectives(directives);
}

/** `private`, with nothing a shared cache would act on. */
function makePrivate(directives: Directives): void {
  directives.delete('public');
  directives.delete('s-maxage');
  directives.set('private', undefined);
}

/**
 * The freshness an Expires grants, in seconds: from the origin's own Date
 * when it sent one (RFC 9111 §4.2.1, so that a skewed clock on either side
 * grants nothing more), else from now. 0 for a date past or not an HTTP-date
 * (§5.3: already expired).
 */
function expiresInSeconds(expires: string, date: string | null): number {
  const at = httpDateMs(expires);
  if (at === undefined) return 0;
  const from = (date === null ? undefined : httpDateMs(date)) ?? Date.now();
  return Math.max(0, Math.floor((at - from) / 1000));
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
