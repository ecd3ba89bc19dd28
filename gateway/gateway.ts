import { handlePurge, PURGE_PATH } from './admin/purge';
import { checkedRoutes } from './contract/routes-version';
import type { CompiledManifests } from './contract/types';
import { parseOverrides } from './fetch/dev-overrides';
import { HeaderLatency } from './fetch/header-latency';
import { type CacheLayer, cacheApiLayer } from './fragments/cache/cache-api-layer';
import { DEFAULT_MEMORY_BYTES, FragmentCache } from './fragments/cache/fragment-cache';
import { kvLastGood, type LastGoodLayer } from './fragments/cache/last-good-layer';
import { MemoryLru } from './fragments/cache/memory-lru';
import { FIXED_VERSIONS, KvVersions, type VersionStore } from './fragments/cache/versions';
import { errorPage } from './http/error-page';
import { isHtml, processesEsi } from './http/headers';
import { assembledPageHeaders } from './http/page-headers';
import { proxyToOrigin } from './http/proxy';
import { parseUrl } from './lib/parse-url';
import type { FragmentObserver } from './observe/fragment-events';
import { cachedHead, pageCacheFor } from './page/cached-origin';
import { composePage } from './page/compose-page';
import type { GatewayServices } from './page/gateway-services';
import { RouteAssets } from './page/route-assets';
import { assembledSize } from './page-cache/assembled-pages';
import { sizeInMemory as pageSizeInMemory } from './page-cache/cached-page';
import { PageCache } from './page-cache/page-cache';
import { cacheApiPages, kvLastGoodPages, type PageLayer } from './page-cache/page-layers';
import { loadRegexEngine } from './regex-engine';
import { ESI_INJECTION_REFUSAL, esiMarkupIn } from './request/esi-injection';
import { KvExperimentWeights, MANIFEST_WEIGHTS } from './request/experiment-weights';
import { unforwardableHeader, unforwardableHeaderMessage } from './request/request-header-bytes';
import { createRouter, type RouteMatch } from './request/route-match';
import { carriesSwitch, withoutReferrer } from './request/switches';
import { readsEsiArgs, upstreamUrl } from './request/upstream-url';
import { VisitorRequest } from './request/visitor-request';

export interface GatewayEnv {
  /** The origin Tessera fronts, for routes whose manifest names none. */
  ORIGIN?: string;
  /** The host name visitors use, sent to the origin as X-Forwarded-Host. Unset: none is sent. */
  PUBLIC_HOST?: string;
  /** `timing`: log each assembled page's fragment waterfall (tessera dev sets it). */
  TESSERA_LOG?: string;
  /** `true` under `tessera dev` only. */
  TESSERA_DEV?: string;
  /** Bearer token for the admin endpoints (purge); unset, they are off. */
  TESSERA_ADMIN_TOKEN?: string;
  /** Fragment and tag versions, for purge (see fragments/cache/versions.ts). */
  TESSERA_VERSIONS?: KVNamespace;
  /** User id → segment name, for routes with `segment:` (see request/segment.ts). */
  SEGMENTS?: KVNamespace;
  /** Last good fragment copies, for fragments with `lastGood: true` (L3). */
  TESSERA_LAST_GOOD?: KVNamespace;
  /** `tessera dev --override`, as JSON; ignored unless TESSERA_DEV. */
  TESSERA_OVERRIDES?: string;
  /** The secret that turns the debug view on in a deployed Worker (`?tessera-debug=<token>`). */
  TESSERA_DEBUG_TOKEN?: string;
  /** Workers Analytics Engine dataset: one data point per fragment per page (optional). */
  TESSERA_METRICS?: AnalyticsEngineDataset;
  /** FragmentCoalescer objects, for `coalesce: global`. */
  TESSERA_COALESCER?: DurableObjectNamespace;
  /** Experiment weights without a deploy: one key per experiment, JSON arm → percent (see request/experiment-weights.ts). */
  TESSERA_EXPERIMENTS?: KVNamespace;
  /** Workers Analytics Engine dataset: one data point per experiment exposure (optional; observe/exposure-metrics.ts). */
  TESSERA_EXPOSURES?: AnalyticsEngineDataset;
}

export interface GatewayOptions {
  /** What `tessera build` wrote; refused unless its version is one this Worker reads. */
  manifests: CompiledManifests;
  /** Outbound fetch; injectable so tests can stand up origins inside workerd. */
  fetch?: typeof fetch;
  /** The fragment cache's settings; `false` turns it off. */
  cache?: false | FragmentCacheSettings;
  /** Also told every fragment lifecycle event (an embedder's own metrics; the event contract tests). */
  observer?: FragmentObserver;
}

export interface FragmentCacheSettings {
  /** L1 bound (default 16 MiB). */
  memoryBytes?: number;
  /** The Cache API cache used as L2 (default `tessera:fragments`). */
  cacheName?: string;
  /** Injected clock and randomness, for tests. */
  now?: () => number;
  random?: () => number;
  /** Replaces the Cache API as L2 (tests inject a failing one); `null`: no L2. */
  sharedLayer?: CacheLayer | null;
  /** The Cache API cache used as the page cache's L2 (default `tessera:pages`); `null`: no L2 for pages. */
  pageCacheName?: string | null;
}

/**
 * Builds the Worker's fetch handler from compiled manifests. Matched requests
 * are composed (fragments are always fetched with GET); everything else is a
 * transparent proxy to the origin.
 */
export function createGateway(options: GatewayOptions) {
  const matchRoute = createRouter(checkedRoutes(options.manifests));
  // One per isolate: every request of this isolate shares its memory layer and in-flight fetches.
  // Fragments and compiled pages share one L1 and its byte bound.
  const settings = options.cache === false ? undefined : (options.cache ?? {});
  const memory = settings && new MemoryLru(settings.memoryBytes ?? DEFAULT_MEMORY_BYTES);
  const cache = settings && memory && createFragmentCache(settings, memory);
  const pages = settings && memory && createPageCache(settings, memory);
  const outbound: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const origins = new Map<string, URL | undefined>();
  const originUrl = (origin: string) => {
    if (!origins.has(origin)) origins.set(origin, parseUrl(origin));
    return origins.get(origin);
  };

  // Bindings arrive with the first request; these are the isolate's from then on.
  let versions: VersionStore | undefined;
  const versionStore = (env: GatewayEnv) => {
    versions ??= env.TESSERA_VERSIONS ? new KvVersions(env.TESSERA_VERSIONS, cache?.now) : FIXED_VERSIONS;
    return versions;
  };
  let lastGoodPages: PageLayer | undefined;
  const lastGoodPageLayer = (env: GatewayEnv) => {
    if (env.TESSERA_LAST_GOOD) lastGoodPages ??= kvLastGoodPages(env.TESSERA_LAST_GOOD, cache?.now ?? Date.now);
    return lastGoodPages;
  };
  let lastGood: LastGoodLayer | undefined;
  const lastGoodLayer = (env: GatewayEnv) => {
    if (env.TESSERA_LAST_GOOD) lastGood ??= kvLastGood(env.TESSERA_LAST_GOOD, cache?.now ?? Date.now);
    return lastGood;
  };
  let services: GatewayServices | undefined;
  /** What every page of the isolate shares, built at its first request (bindings arrive with it). */
  const servicesFor = (env: GatewayEnv): GatewayServices =>
    (services ??= {
      fetch: outbound,
      cache: cache && { store: cache, versions: versionStore(env), lastGood: lastGoodLayer(env), coalescer: env.TESSERA_COALESCER },
      pages,
      lastGoodPages: lastGoodPageLayer(env),
      latency: new HeaderLatency(),
      metrics: env.TESSERA_METRICS,
      observer: options.observer,
      logTimings: env.TESSERA_LOG === 'timing',
      publicHost: env.PUBLIC_HOST,
      // Overrides go around the host rule, so only tessera dev may set them.
      overrides: env.TESSERA_DEV === 'true' ? parseOverrides(env.TESSERA_OVERRIDES) : undefined,
      segments: env.SEGMENTS,
      switches: { dev: env.TESSERA_DEV === 'true', token: env.TESSERA_DEBUG_TOKEN },
      experiments: {
        weights: env.TESSERA_EXPERIMENTS ? new KvExperimentWeights(env.TESSERA_EXPERIMENTS, cache?.now) : MANIFEST_WEIGHTS,
        exposures: env.TESSERA_EXPOSURES,
      },
      routeAssets: new RouteAssets(env.TESSERA_LAST_GOOD, cache?.now),
    });

  return async function tesseraFetch(request: Request, env: GatewayEnv, ctx: ExecutionContext): Promise<Response> {
    // Refused here, once for every path: the client sent it, so a 400 is the honest answer, where forwarding it would end as the origin's error.
    const unforwardable = unforwardableHeader(request.headers);
    if (unforwardable) return errorPage(400, unforwardableHeaderMessage(unforwardable));
    const url = new URL(request.url);
    const response = await respond(request, url, env, ctx);
    return carriesSwitch(url) ? withoutReferrer(response) : response;
  };

  async function respond(request: Request, url: URL, env: GatewayEnv, ctx: ExecutionContext): Promise<Response> {
    // Answered by the gateway itself, before routing: never proxied to the origin.
    if (url.pathname === PURGE_PATH) {
      const purged = await handlePurge(request, env.TESSERA_ADMIN_TOKEN, versionStore(env));
      // Assembled pages hold fragments by value: a purge this isolate served forgets them all at once.
      if (purged.ok) pages?.assembled.forget();
      return purged;
    }
    const match = matchRoute(url);
    const origin = originUrl(match?.route.origin ?? env.ORIGIN ?? '');
    if (!origin) {
      return errorPage(500, 'Tessera has no origin configured: set the ORIGIN variable or origin: in the manifest.');
    }
    const services = servicesFor(env);
    // A HEAD of a page the page cache holds is answered from it, as its GET would be: no origin request.
    if (match && request.method === 'HEAD' && match.route.page) {
      const cached = await headFromPageCache(request, url, match, origin, services, ctx);
      if (cached) return cached;
    }
    // Every method but HEAD is assembled, as ESI engines process the answer to a form's POST: a browser never gets a raw <esi:include>.
    // (A WebSocket handshake is no page.)
    if (!match || request.method === 'HEAD' || isUpgrade(request)) {
      try {
        const response = await proxyToOrigin(request, url, origin, services.fetch, services.publicHost, !!match && readsEsiArgs(match.route));
        // HEAD promises the headers GET would send, and GET of this page is assembled.
        if (match && request.method === 'HEAD' && response.ok && isHtml(response.headers)) {
          const headers = assembledPageHeaders(response.headers, match.route, processesEsi(match.route, response.headers));
          return new Response(null, { status: response.status, headers });
        }
        return response;
      } catch (error) {
        console.error(`tessera: origin ${origin.origin} unreachable for ${request.method} ${url.pathname}:`, error);
        return errorPage(502, 'The origin server could not be reached.');
      }
    }
    // ESI markup in what the visitor sent, on a route where the gateway runs ESI: an attempt to have it run the
    // visitor's markup through an origin that reflects input. Refused, not served: served without ESI, the origin's
    // own ESI tags would reach the browser raw; and no honest request carries <esi: in its URL, cookies or headers.
    const injected = match.route.esi !== 'off' ? esiMarkupIn(request, url) : undefined;
    if (injected) {
      console.error(`tessera: ${request.method} ${url.pathname}: refused, ESI markup in the request's ${injected} (ESI injection)`);
      return errorPage(400, ESI_INJECTION_REFUSAL);
    }
    // The request read once: every later reader of its URL, cookies, geo, switches and segment reads this.
    const visitor = await VisitorRequest.read(request, url, match, services.switches, services.segments);
    if (match.route.esi !== 'off') await loadRegexEngine(); // ESI's `matches` engine, a module imported on first need (regex-engine.ts).
    return composePage(visitor, match.route, origin, services, ctx);
  }
}

async function headFromPageCache(
  request: Request,
  url: URL,
  match: RouteMatch,
  origin: URL,
  services: GatewayServices,
  ctx: ExecutionContext,
): Promise<Response | undefined> {
  const visitor = await VisitorRequest.read(request, url, match, services.switches, services.segments);
  const use = pageCacheFor(visitor, match.route, services);
  if (!use) return undefined;
  return cachedHead(visitor, match.route, use, upstreamUrl(origin, url, readsEsiArgs(match.route)), services, (work) => ctx.waitUntil(work));
}

function createFragmentCache(settings: FragmentCacheSettings, memory: MemoryLru): FragmentCache {
  return new FragmentCache({
    memoryBytes: settings.memoryBytes ?? DEFAULT_MEMORY_BYTES,
    memory,
    shared: settings.sharedLayer === undefined ? cacheApiLayer(settings.cacheName ?? 'tessera:fragments') : (settings.sharedLayer ?? undefined),
    now: settings.now,
    random: settings.random,
  });
}

function createPageCache(settings: FragmentCacheSettings, memory: MemoryLru): PageCache {
  const shared = settings.pageCacheName === null ? undefined : cacheApiPages(settings.pageCacheName ?? 'tessera:pages');
  return new PageCache({ memory: memory.space('page', pageSizeInMemory), assembled: memory.space('assembled', assembledSize), shared, now: settings.now });
}

function isUpgrade(request: Request): boolean {
  return request.headers.get('upgrade')?.toLowerCase() === 'websocket';
}
