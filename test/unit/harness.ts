import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { createGateway, type FragmentCacheSettings, type GatewayEnv } from '../../gateway/gateway';
import { assembleManifests, compileRoute } from '../../gateway/manifest/compile';
import { type RouteManifest, RouteManifestSchema } from '../../gateway/manifest/schema';
import type { FragmentObserver } from '../../gateway/observe/fragment-events';

/**
 * A fake network inside workerd: origin and fragment hosts are handler
 * functions with real timers, so tests control latency and failure exactly
 * while the gateway runs its real code, HTMLRewriter included.
 */
export const ORIGIN = 'https://origin.test';

export type Handler = (request: Request, url: URL) => Response | Promise<Response>;

export interface Call {
  url: string;
  headers: Headers;
}

export function upstream(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    calls.push({ url: url.href, headers: request.headers });
    const handler = routes[url.href] ?? routes[url.origin + url.pathname] ?? (url.origin === ORIGIN ? routes[url.pathname] : undefined);
    if (!handler) return new Response('no such route', { status: 404 });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await abortable(Promise.resolve(handler(request, url)), request.signal);
    } finally {
      inFlight--;
    }
  }) as typeof fetch;
  return {
    fetch: fetcher,
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    requested: (path: string) => calls.filter((c) => new URL(c.url).pathname === path || c.url === path),
  };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason ?? new Error('aborted')));
    promise.then(resolve, reject);
  });
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function html(body: string | ReadableStream, headers: Record<string, string> = {}, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8', ...headers } });
}

/** An origin page that opts in to ESI. */
export function esiPage(body: string | ReadableStream, headers: Record<string, string> = {}): Response {
  return html(body, { 'surrogate-control': 'content="ESI/1.0"', ...headers });
}

/** A promise with its resolver, for fragments that wait on the test. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Validates and compiles manifests the way `tessera build` does. */
export function compile(...manifests: RouteManifest[]) {
  const routes = manifests.map((manifest, i) => {
    const parsed = RouteManifestSchema.parse(manifest);
    const { route, problems } = compileRoute(parsed, `route${i}`, `route${i}.yaml`);
    if (!route) throw new Error(problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('\n'));
    return route;
  });
  return assembleManifests(routes);
}

export interface GatewayTestOptions {
  /** Worker variables besides ORIGIN. */
  env?: Omit<GatewayEnv, 'ORIGIN'>;
  /** The fragment cache's clock and jitter; each gateway gets a Cache API cache of its own. */
  cache?: FragmentCacheSettings;
  /** Told every fragment lifecycle event. */
  observer?: FragmentObserver;
}

let gateways = 0;

export function gatewayFor(net: ReturnType<typeof upstream>, manifest: RouteManifest, options: GatewayTestOptions = {}) {
  return gatewayForRoutes(net, [manifest], options);
}

export function gatewayForRoutes(net: ReturnType<typeof upstream>, manifests: RouteManifest[], options: GatewayTestOptions = {}) {
  const handle = createGateway({
    manifests: compile(...manifests),
    fetch: net.fetch,
    cache: { cacheName: `test-${++gateways}-${Math.random()}`, pageCacheName: `test-pages-${gateways}-${Math.random()}`, ...options.cache },
    observer: options.observer,
  });
  return async (path: string, init?: RequestInit) => {
    const ctx = createExecutionContext();
    // A path, on the shop's host; or a whole URL, for another of the Worker's hostnames.
    const url = path.startsWith('https://') ? path : `https://shop.test${path}`;
    const response = await handle(new Request(url, init), { ORIGIN, ...options.env }, ctx);
    return Object.assign(response, { settled: () => waitOnExecutionContext(ctx) });
  };
}

/** Reads a streamed body chunk by chunk, noting when each arrived. */
export async function readChunks(response: Response): Promise<Array<{ text: string; at: number }>> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const chunks: Array<{ text: string; at: number }> = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push({ text: decoder.decode(value, { stream: true }), at: Date.now() });
  }
}
