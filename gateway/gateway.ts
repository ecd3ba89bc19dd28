import { composePage } from './compose-page';
import { errorPage } from './error-page';
import { assembledResponseHeaders, isHtml } from './http-headers';
import { proxyToOrigin } from './proxy';
import { parseUrl } from './parse-url';
import { createRouter } from './route-match';
import type { CompiledManifests } from './types';

export interface GatewayEnv {
  /** The origin Tessera fronts, for routes whose manifest names none. */
  ORIGIN?: string;
  /** `timing`: log each assembled page's fragment waterfall (tessera dev sets it). */
  TESSERA_LOG?: string;
}

export interface GatewayOptions {
  manifests: CompiledManifests;
  /** Outbound fetch; injectable so tests can stand up origins inside workerd. */
  fetch?: typeof fetch;
}

/**
 * Builds the Worker's fetch handler from compiled manifests. Matched GETs are
 * composed; everything else is a transparent proxy to the origin.
 */
export function createGateway(options: GatewayOptions) {
  const matchRoute = createRouter(options.manifests);
  const outbound: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));

  return async function tesseraFetch(request: Request, env: GatewayEnv, _ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const match = matchRoute(url);
    const origin = match?.route.origin ?? env.ORIGIN;
    if (!origin || !parseUrl(origin)) {
      return errorPage(500, 'Tessera has no origin configured: set the ORIGIN variable or origin: in the manifest.');
    }
    if (!match || request.method !== 'GET') {
      try {
        const response = await proxyToOrigin(request, url, origin, outbound);
        // HEAD promises the headers GET would send, and GET of this page is assembled.
        if (match && request.method === 'HEAD' && response.ok && isHtml(response.headers)) {
          return new Response(null, { status: response.status, headers: assembledResponseHeaders(response.headers, false) });
        }
        return response;
      } catch (error) {
        console.error(`tessera: origin ${origin} unreachable for ${request.method} ${url.pathname}:`, error);
        return errorPage(502, 'The origin server could not be reached.');
      }
    }
    return composePage({ request, url, match, origin, fetch: outbound, logTimings: env.TESSERA_LOG === 'timing' });
  };
}
