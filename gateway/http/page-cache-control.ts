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
  if (!rewritesCacheHeaders(route, esiActive)) return { cacheControl, vary: originVary };

  const inputs = routeVisitorInputs(route, esiActive);
  const directives = originDirectives(origin);
  const vary = mergeVary(originVary, inputs.vary);
  // Nothing else matters beside no-store, and a page that read its visitor says private as well.
  if (directives.has('no-store')) return { cacheControl: inputs.private || directives.has('private') ? 'no-store, private' : 'no-store', vary };

  const fragmentSeconds = fragmentWindowSeconds(route, esiActive, 'ttlMs');

  if (inputs.private || directives.has('private')) makePrivate(directives);
  if (fragmentSeconds === 0) {
    directives.delete('max-age');
    directives.delete('s-maxage');
    directives.delete('public');
    directives.delete('immutable');
    directives.delete('stale-while-revalidate');
    directives.delete('stale-if-error');
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
    // Served stale downstream no longer than a fragment may be served stale here.
    for (const [name, field] of STALE_WINDOWS) {
      const value = directives.get(name);
      if (value === undefined) continue;
      const capped = Math.min(Number(value), fragmentWindowSeconds(route, esiActive, field));
      if (capped > 0) directives.set(name, String(capped));
      else directives.delete(name);
    }
  }
  return { cacheControl: directives.size ? serialiseDirectives(directives) : null, vary };
}

/**
 * Cache headers addressed to one kind of cache, which such a cache reads
 * instead of Cache-Control: CDN-Cache-Control (RFC 9213) and Cloudflare's own
 * get the treatment Cache-Control gets; Surrogate-Control (when it was not
 * addressed to Tessera's ESI) and nginx's X-Accel-Expires go, leaving
 * Cache-Control to decide, unless they say not to store (then they say only
 * that). `null`: the header goes.
 */
export function targetedCacheHeaders(origin: Headers, route: CompiledRoute, esiActive: boolean): Array<[string, string | null]> {
  if (!rewritesCacheHeaders(route, esiActive)) return [];
  const rewritten: Array<[string, string | null]> = [];
  for (const name of ['cdn-cache-control', 'cloudflare-cdn-cache-control']) {
    const value = origin.get(name);
    if (value !== null) rewritten.push([name, pageCacheHeaders(new Headers({ 'cache-control': value }), route, esiActive).cacheControl]);
  }
  const surrogate = origin.get('surrogate-control');
  if (surrogate !== null && !esiActive) rewritten.push(['surrogate-control', /no-store/i.test(surrogate) ? 'no-store' : null]);
  const accel = origin.get('x-accel-expires');
  if (accel !== null) rewritten.push(['x-accel-expires', accel.trim() === '0' ? '0' : null]);
  return rewritten;
}

/** Whether the page's cache headers are Tessera's to write: a page with no fragment, no ESI and no `page.vary` is the origin's as it sent it. */
function rewritesCacheHeaders(route: CompiledRoute, esiActive: boolean): boolean {
  // A page cached per visitor input (`page.vary`) tells downstream caches so even with no fragments.
  return Object.keys(route.fragments).length > 0 || esiActive || (route.page?.vary.length ?? 0) > 0;
}

const STALE_WINDOWS = [
  ['stale-while-revalidate', 'staleWhileRevalidateMs'],
  ['stale-if-error', 'staleIfErrorMs'],
] as const;

/**
 * The shortest of a window over every fragment and every arm of it; with ESI
 * on, undeclared includes count with the route's defaults (their ttl; they
 * are never served stale).
 */
function fragmentWindowSeconds(route: CompiledRoute, esiActive: boolean, field: 'ttlMs' | 'staleWhileRevalidateMs' | 'staleIfErrorMs'): number {
  const windows = Object.values(route.fragments).flatMap((f) => [f[field], ...(f.experiment?.variants.map((v) => v.fields[field]) ?? [])]);
  if (esiActive) windows.push(field === 'ttlMs' ? route.defaults.ttlMs : 0);
  return Math.floor(Math.min(...windows) / 1000);
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
