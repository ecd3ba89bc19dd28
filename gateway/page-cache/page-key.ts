import type { PageCacheSpec, TemplateVariable } from '../contract/types';
import type { CacheKeyParts } from '../fragments/cache/cache-key';
import { parseCookies } from '../lib/cookies';
import { isNegotiationHeader } from '../request/visitor-inputs';

/**
 * A page's cache key and the origin request that fills it. The key covers
 * the route, the upstream path and query (the gateway's switches already
 * gone), each `page.vary` value, and the version purges bump. The origin
 * request carries nothing of the visitor's but what the key covers and
 * content negotiation, so a shared shell is never one visitor's page.
 */
export function pageKeyParts(
  route: string,
  pageUrl: URL,
  vary: readonly TemplateVariable[],
  value: (v: TemplateVariable) => string | undefined,
  version: string,
): CacheKeyParts {
  return {
    url: `page:${route}\n${pageUrl.pathname}${pageUrl.search}`,
    // An absent value is told apart from an empty one.
    varies: vary.map((v) => `${v.source}.${v.name}${(value(v) ?? null) === null ? '' : `=${value(v)}`}`),
    version,
  };
}

/**
 * The origin request's headers for a cached page, from an allow-list: what
 * the answer is shared by everyone whose key matches, so nothing the visitor
 * sends may reach the origin unless the key covers it, or it is content
 * negotiation (a response that varies on it is not stored unless the key
 * covers it: page-storability.ts). Kept: the negotiation headers, the headers
 * `page.vary` names, the cookies it names (their raw values, as the key holds
 * them), and the headers the gateway itself sets (`gatewaySet`). Anything
 * else (`Forwarded`, `X-Original-URL`, credentials) is dropped: an origin that
 * reflected it would otherwise serve one visitor's input to every other.
 */
export function keyedRequestHeaders(headers: Headers, spec: Pick<PageCacheSpec, 'vary'>, gatewaySet: ReadonlySet<string>): Headers {
  const keyedHeaders = varied(spec).headers;
  const kept = new Headers();
  for (const [name, value] of headers) {
    if (name === 'cookie') continue;
    if (isNegotiationHeader(name) || keyedHeaders.has(name) || gatewaySet.has(name)) kept.append(name, value);
  }
  const cookies = keyedCookies(headers.get('cookie'), spec);
  if (cookies.length) kept.set('cookie', cookies.map(([name, value]) => `${name}=${value}`).join('; '));
  return kept;
}

/** The cookies `page.vary` names, with their raw values: what the origin receives, and so what the key must hold. */
export function keyedCookies(header: string | null, spec: Pick<PageCacheSpec, 'vary'>): Array<[string, string]> {
  const named = varied(spec).cookies;
  if (!named.size || !header) return [];
  return [...parseCookies(header)].filter(([name]) => named.has(name));
}

/** The header names (lower case) and cookie names a `page.vary` list names, worked out once per list: asked on every view of the route. */
function varied(spec: Pick<PageCacheSpec, 'vary'>): { headers: ReadonlySet<string>; cookies: ReadonlySet<string> } {
  let names = variedNames.get(spec.vary);
  if (!names) {
    names = {
      headers: new Set(spec.vary.filter((v) => v.source === 'header').map((v) => v.name.toLowerCase())),
      cookies: new Set(spec.vary.filter((v) => v.source === 'cookie').map((v) => v.name)),
    };
    variedNames.set(spec.vary, names);
  }
  return names;
}

const variedNames = new WeakMap<readonly TemplateVariable[], { headers: ReadonlySet<string>; cookies: ReadonlySet<string> }>();
