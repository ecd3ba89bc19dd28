import { withoutArguments } from '../lib/query-arguments';
import { DEBUG_PARAM } from './debug-gate';
import { FAULT_PARAM } from './fault-injection';
import { PLACEMENT_PARAM } from './placement-preview';
import { VARIANT_PARAM } from './variant-preview';

/**
 * The query switches that are the gateway's own. `tessera-debug` carries the
 * debug token in a deployed Worker, so a URL with them in it is a secret:
 * it goes neither to the origin (upstream-url.ts), nor into a log
 * line, nor out again in a `Referer`.
 */
export const GATEWAY_SWITCHES: readonly string[] = [DEBUG_PARAM, FAULT_PARAM, PLACEMENT_PARAM, VARIANT_PARAM];

export function carriesSwitch(url: URL): boolean {
  // A URL with no query carries none: asked before `searchParams`, which costs a parse.
  return url.search !== '' && GATEWAY_SWITCHES.some((name) => url.searchParams.has(name));
}

/** The URL without the gateway's switches; the rest of the query stays byte for byte as the client wrote it. */
export function withoutSwitches(url: URL): URL {
  if (!carriesSwitch(url)) return url;
  const copy = new URL(url.href);
  copy.search = withoutArguments(url, isSwitch);
  return copy;
}

export function isSwitch(name: string): boolean {
  return GATEWAY_SWITCHES.includes(name);
}

/** How every log line names a request: path and query, less the switches (Worker logs are read by more people than the token's holders). */
export function loggedUrl(url: URL): string {
  const clean = withoutSwitches(url);
  return `${clean.pathname}${clean.search}`;
}

/**
 * A response to a URL carrying the switches, with `Referrer-Policy:
 * no-referrer`: otherwise the browser sends that URL, token and all, to the
 * origin and every other host the page loads from, and to any link followed.
 * This covers every page such a URL can produce (debug view, fault and
 * placement previews, error pages, proxied answers), whoever built it.
 */
export function withoutReferrer(response: Response): Response {
  // A WebSocket handshake is no document, and its response cannot be copied.
  if (response.status === 101) return response;
  const copy = new Response(response.body, response);
  copy.headers.set('referrer-policy', 'no-referrer');
  return copy;
}
