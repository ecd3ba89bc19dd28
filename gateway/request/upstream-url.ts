import { ESI_ARG_PREFIX } from '../contract/esi-variable-names';
import { GATEWAY_SWITCHES } from './switches';

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
  target.search = request.search;
  // The debug view's, fault injection's and placement preview's switches are the gateway's, never the origin's (see switches.ts);
  // on a route that runs ESI, so are the `esi_` arguments (ESI_ARGS), which would otherwise split the origin's cache.
  const ours = [...target.searchParams.keys()].filter((name) => GATEWAY_SWITCHES.includes(name) || (keepsEsiArgs && name.startsWith(ESI_ARG_PREFIX)));
  if (ours.length) {
    for (const name of ours) target.searchParams.delete(name);
    if (!target.searchParams.size) target.search = '';
  }
  if (target.origin !== origin.origin) throw new Error(`refusing to leave the origin ${origin.origin} for ${request.pathname}`);
  return target;
}
