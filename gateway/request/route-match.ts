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
 * A pattern is only tried on a pathname that starts with its fixed prefix,
 * and one of plain text is compared, not run: `exec` costs tens of
 * microseconds of CPU in workerd, and most routes cannot match.
 */
export function createRouter(manifests: CompiledManifests) {
  const compiled = manifests.patterns.map(({ pattern, route }) => {
    const urlPattern = new URLPattern({ pathname: pattern });
    const prefix = fixedPrefix(pattern);
    // A pattern of plain text matches that text alone.
    return { pattern: urlPattern, prefix, plain: prefix === urlPattern.pathname, route: manifests.routes[route] };
  });

  return function matchRoute(url: URL): RouteMatch | undefined {
    const { pathname } = url;
    for (const { pattern, prefix, plain, route } of compiled) {
      if (!pathname.startsWith(prefix)) continue;
      if (plain) {
        if (pathname === prefix) return { route, params: {} };
        continue;
      }
      const result = pattern.exec({ pathname });
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

/**
 * Text every pathname the pattern matches starts with: its leading plain
 * characters (letters, digits, `/`, `_`, `-`, `~`: nothing URLPattern would
 * encode or normalise, nor pattern syntax), less a `/` just before whatever
 * stopped it (an optional segment such as `/:id?` takes its `/` with it).
 */
export function fixedPrefix(pattern: string): string {
  const plain = /^[A-Za-z0-9/_~-]*/.exec(pattern)?.[0] ?? '';
  return plain !== pattern && plain.endsWith('/') ? plain.slice(0, -1) : plain;
}
