import type { CompiledManifests, CompiledRoute } from '../contract/types';
import { safeDecode } from './safe-decode';

export interface RouteMatch {
  route: CompiledRoute;
  /** Decoded once, so that a template encodes them exactly once. */
  params: Record<string, string>;
}

/**
 * Matches a pathname against every route pattern, most specific first (the
 * order was fixed at build time). URLPatterns are built once per isolate.
 */
export function createRouter(manifests: CompiledManifests) {
  const compiled = manifests.patterns.map(({ pattern, route }) => ({
    pattern: new URLPattern({ pathname: pattern }),
    route: manifests.routes[route],
  }));

  return function matchRoute(url: URL): RouteMatch | undefined {
    for (const { pattern, route } of compiled) {
      const result = pattern.exec({ pathname: url.pathname });
      if (!result) continue;
      const params: Record<string, string> = {};
      for (const [key, value] of Object.entries(result.pathname.groups)) {
        if (value !== undefined) params[key] = safeDecode(value);
      }
      return { route, params };
    }
    return undefined;
  };
}
