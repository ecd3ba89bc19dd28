import { ESI_ARG_PREFIX } from '../contract/esi-variable-names';
import type { CompiledRoute } from '../contract/types';
import { withoutArguments } from '../lib/query-arguments';
import { isSwitch } from './switches';

/** Whether a route's pages may read `$(ESI_ARGS)`: only then are `esi_` arguments the gateway's. */
export function readsEsiArgs(route: Pick<CompiledRoute, 'esi' | 'esiVariables'>): boolean {
  return route.esi !== 'off' && route.esiVariables.includes('ESI_ARGS');
}

/**
 * The URL Tessera requests from the origin for a client request: the origin's
 * scheme, host and port, with the request's path and query set on a copy.
 *
 * Never `new URL(path, origin)`: a path such as `//evil.test/x` (or `/\evil`,
 * `///evil`) is a scheme-relative URL and would pick the host. Setting
 * `pathname` keeps it a path, and the check below makes that a guarantee, not
 * an assumption about URL parsing.
 */
export function upstreamUrl(origin: URL, request: URL, keepsEsiArgs = false): URL {
  const target = new URL(origin.href);
  target.pathname = request.pathname;
  // The debug view's, fault injection's and placement preview's switches are the gateway's, never the origin's (see switches.ts);
  // on a route whose pages read ESI_ARGS, so are the `esi_` arguments, which would otherwise split the origin's cache.
  // Dropped pair by pair, so the rest of the query reaches the origin byte for byte (signed URLs stay valid).
  target.search = withoutArguments(request, (name) => isSwitch(name) || (keepsEsiArgs && name.startsWith(ESI_ARG_PREFIX)));
  if (target.origin !== origin.origin) throw new Error(`refusing to leave the origin ${origin.origin} for ${request.pathname}`);
  return target;
}
