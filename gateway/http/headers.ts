import type { CompiledRoute } from '../contract/types';
import { DEBUG_HEADER } from '../request/debug-gate';

/**
 * Header rules for what crosses the gateway: hop-by-hop headers never do
 * (RFC 9110 §7.6.1), and an assembled page loses the headers that described
 * the origin's bytes rather than the page the client receives.
 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

export function withoutHopByHop(source: Headers): Headers {
  const headers = new Headers(source);
  const listed = (source.get('connection') ?? '').split(',').map((h) => h.trim().toLowerCase());
  for (const name of [...HOP_BY_HOP, ...listed]) if (name) headers.delete(name);
  return headers;
}

/**
 * Assembly needs the whole page: a 304 would let the client keep stale
 * fragments, and a 206 is not a page.
 */
const CONDITIONAL_AND_RANGE = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'];

export interface OriginRequestOptions {
  forAssembly?: boolean;
  /** The configured public host name (the PUBLIC_HOST variable), sent as X-Forwarded-Host. */
  publicHost?: string;
}

/** Headers for the request to the origin: the client's, minus hop-by-hop, plus ESI capability. */
export function originRequestHeaders(request: Request, url: URL, { forAssembly = false, publicHost }: OriginRequestOptions = {}): Headers {
  const headers = withoutHopByHop(request.headers);
  headers.delete('host');
  headers.delete(DEBUG_HEADER);
  if (forAssembly) for (const name of CONDITIONAL_AND_RANGE) headers.delete(name);
  // Tells the origin it may answer with `Surrogate-Control: content="ESI/1.0"` (Edge Architecture 1.0).
  headers.append('surrogate-capability', 'tessera="ESI/1.0"');
  // From configuration, never from the client: the Host header is the client's to choose,
  // and an origin that builds absolute links from it would hand that choice to anyone.
  if (publicHost) headers.set('x-forwarded-host', publicHost);
  else headers.delete('x-forwarded-host');
  headers.set('x-forwarded-proto', url.protocol.replace(':', ''));
  return headers;
}

/** A WebSocket handshake's headers for the origin: the client's, hop-by-hop ones included (the upgrade needs them), less what the gateway decides. */
export function upgradeRequestHeaders(request: Request, publicHost: string | undefined): Headers {
  const headers = new Headers(request.headers);
  headers.delete('host');
  headers.delete(DEBUG_HEADER);
  if (publicHost) headers.set('x-forwarded-host', publicHost);
  else headers.delete('x-forwarded-host');
  return headers;
}

/** Origin response headers as they apply to the assembled page. */
export function assembledResponseHeaders(origin: Headers, esiProcessed: boolean): Headers {
  const headers = withoutHopByHop(origin);
  // The body changes length, and a strong validator promises identical bytes.
  headers.delete('content-length');
  // The assembled body is decoded text. Left in place, this header would make
  // workerd re-compress the stream, and its encoder holds output back until the
  // end — the head would wait for the slowest fragment. Cloudflare's edge
  // compresses Worker responses for clients that accept it.
  headers.delete('content-encoding');
  // The origin's validators describe the origin's page, not the assembled one: a fragment may have changed while
  // they stayed the same, and a revalidation answered "not modified" would keep the old fragment (Varnish's old bug).
  headers.delete('etag');
  headers.delete('last-modified');
  // Surrogate-Control is addressed to us, not to browsers or downstream caches.
  if (esiProcessed) headers.delete('surrogate-control');
  return headers;
}

/** Whether a route processes ESI in a page with these origin headers: `on`, or `auto` and the origin opted in. */
export function processesEsi(route: Pick<CompiledRoute, 'esi'>, origin: Headers): boolean {
  return route.esi === 'on' || (route.esi === 'auto' && originRequestsEsi(origin));
}

/**
 * Edge Architecture 1.0: ESI is enabled by `Surrogate-Control:
 * content="ESI/1.0"` (or the older `ESI/0.8`), among other directives. A
 * directive targeted at one surrogate (`content="ESI/1.0";akamai`) counts
 * only when the target is us (`;tessera`, the name our Surrogate-Capability
 * gives).
 */
export function originRequestsEsi(headers: Headers): boolean {
  const control = headers.get('surrogate-control');
  if (!control) return false;
  for (const directive of control.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const match = /^\s*content\s*=\s*("[^"]*"|[^;\s]*)\s*(?:;\s*([\w.-]+))?\s*$/i.exec(directive);
    if (!match) continue;
    const target = match[2]?.toLowerCase();
    if (target && target !== SURROGATE_NAME) continue;
    if (/\bESI\/(?:1\.0|0\.8)\b/i.test(match[1])) return true;
  }
  return false;
}

/** How the gateway names itself to origins in Surrogate-Capability, and how targeted Surrogate-Control addresses it. */
export const SURROGATE_NAME = 'tessera';

export function isHtml(headers: Headers): boolean {
  const type = (headers.get('content-type') ?? '').toLowerCase();
  return type.startsWith('text/html') || type.startsWith('application/xhtml+xml');
}
