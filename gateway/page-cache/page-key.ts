import type { PageCacheSpec, TemplateVariable } from '../contract/types';
import type { CacheKeyParts } from '../fragments/cache/cache-key';
import { parseCookies } from '../lib/cookies';

/**
 * A page's cache key and the origin request that fills it. The key covers
 * the route, the upstream path and query (the gateway's switches already
 * gone), each `page.vary` value, and the version purges bump. The origin
 * request carries no visitor credentials but those `page.vary` names, so a
 * shared shell is never one visitor's page by accident.
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

const CREDENTIALS = ['authorization', 'proxy-authorization'];

/** The origin request's headers for a cached page: Cookie cut down to the cookies `page.vary` names, and no Authorization unless it names that. */
export function withoutUnkeyedCredentials(headers: Headers, spec: Pick<PageCacheSpec, 'vary'>): Headers {
  const named = new Set(spec.vary.filter((v) => v.source === 'cookie').map((v) => v.name));
  const cookies = [...parseCookies(headers.get('cookie'))].filter(([name]) => named.has(name));
  if (cookies.length) headers.set('cookie', cookies.map(([name, value]) => `${name}=${value}`).join('; '));
  else headers.delete('cookie');
  const keyedHeaders = new Set(spec.vary.filter((v) => v.source === 'header').map((v) => v.name.toLowerCase()));
  for (const name of CREDENTIALS) if (!keyedHeaders.has(name)) headers.delete(name);
  return headers;
}
