import { upstreamUrl } from '../request/upstream-url';
import { originRequestHeaders, upgradeRequestHeaders, withoutHopByHop } from './headers';

/**
 * The transparent path: unmatched routes, HEAD, WebSocket handshakes, and origin answers
 * that are not HTML pages. Status, headers (less hop-by-hop) and body stream
 * through untouched; redirects are handed to the client, not followed.
 */
export async function proxyToOrigin(
  request: Request,
  url: URL,
  origin: URL,
  fetcher: typeof fetch,
  publicHost?: string,
  /** A HEAD of a page whose GET keeps its `esi_` arguments from the origin must ask for the same URL. */
  keepsEsiArgs = false,
): Promise<Response> {
  const target = upstreamUrl(origin, url, keepsEsiArgs);
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
    // The handshake keeps its Upgrade and Connection headers, but not the client's say over the host or the debug switch.
    return fetcher(new Request(target, { method: request.method, headers: upgradeRequestHeaders(request, publicHost) }));
  }
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const response = await fetcher(target.toString(), {
    method: request.method,
    headers: originRequestHeaders(request, url, { publicHost }),
    body: hasBody ? request.body : undefined,
    redirect: 'manual',
  });
  return passThrough(response);
}

export function passThrough(response: Response): Response {
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: withoutHopByHop(response.headers),
  });
}
