import CachePolicy from 'http-cache-semantics';
import type { PageCacheSpec } from '../contract/types';
import { cacheability } from '../fetch/cacheability';
import { isHtml, SURROGATE_NAME } from '../http/headers';

/**
 * Whether an origin page may be stored, whatever the manifest says, and for
 * how long. Never stored: an answer that is not a 2xx HTML page, one a shared
 * HTTP cache would not keep (`private`, `no-store`, a `Set-Cookie`: the rules
 * fetch/cacheability.ts applies to fragments, by http-cache-semantics), one
 * that varies on a request header the page's key does not cover, and (with
 * `ttl: origin`) one the origin gives no shared freshness.
 */
export type PageStorability = { storable: true; ttlMs: number } | { storable: false; why: string };

/** The largest page kept; a larger one streams as usual and is asked for again next time. */
export const PAGE_MAX_BYTES = 5 * 1024 * 1024;

export function pageStorability(spec: PageCacheSpec, url: URL, requestHeaders: Headers, response: Response): PageStorability {
  const { status, headers } = response;
  if (status < 200 || status > 299 || status === 206) return { storable: false, why: `the origin answered ${status}` };
  if (!isHtml(headers)) return { storable: false, why: 'it is not HTML' };
  const shared = cacheability(url, requestHeaders, response);
  if (!shared.storable) return shared;
  const uncovered = unkeyedVary(headers.get('vary'), spec);
  if (uncovered) return { storable: false, why: uncovered === '*' ? 'it says Vary: *' : `it varies on ${uncovered}, which page.vary does not name` };
  if (spec.ttl.kind === 'fixed') return { storable: true, ttlMs: spec.ttl.ms };
  const ttlMs = originFreshnessMs(url, requestHeaders, response);
  return ttlMs > 0
    ? { storable: true, ttlMs }
    : { storable: false, why: 'the origin gives it no shared-cache freshness (s-maxage, Surrogate-Control or max-age)' };
}

/**
 * `ttl: origin`: Surrogate-Control's max-age, addressed to us or to every
 * surrogate, comes first (it is meant for edge caches); then what a shared
 * cache would allow (s-maxage, max-age, Expires).
 */
function originFreshnessMs(url: URL, requestHeaders: Headers, response: Response): number {
  const surrogate = surrogateMaxAge(response.headers.get('surrogate-control'));
  if (surrogate !== undefined) return surrogate * 1000;
  const policy = new CachePolicy(
    { method: 'GET', url: url.pathname + url.search, headers: Object.fromEntries(requestHeaders) },
    { status: response.status, headers: Object.fromEntries(response.headers) },
    { shared: true },
  );
  return policy.timeToLive();
}

function surrogateMaxAge(control: string | null): number | undefined {
  if (!control) return undefined;
  for (const directive of control.split(',')) {
    const match = /^\s*max-age\s*=\s*"?(\d+)"?(?:\s*\+\s*\d+)?\s*(?:;\s*([^\s,]+))?\s*$/i.exec(directive);
    if (!match) continue;
    const target = match[2]?.toLowerCase();
    if (target && target !== SURROGATE_NAME) continue;
    return Number(match[1]);
  }
  return undefined;
}

/**
 * A request header the response varies on that the page's key does not
 * cover. Cookie and Authorization are covered: the origin request carries
 * only the credentials `page.vary` names, and those are in the key.
 */
function unkeyedVary(vary: string | null, spec: PageCacheSpec): string | undefined {
  if (!vary) return undefined;
  const keyed = new Set(spec.vary.filter((v) => v.source === 'header').map((v) => v.name.toLowerCase()));
  for (const raw of vary.split(',')) {
    const name = raw.trim().toLowerCase();
    if (!name || name === 'accept-encoding' || name === 'cookie' || name === 'authorization' || keyed.has(name)) continue;
    return name;
  }
  return undefined;
}
