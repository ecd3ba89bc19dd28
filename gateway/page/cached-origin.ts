import type { CompiledRoute, FragmentResult, PageCacheSpec, TemplateVariable } from '../contract/types';
import { type CacheKey, CacheKeys } from '../fragments/cache/cache-key';
import { fetchPageThroughCoalescer } from '../fragments/cache/global-coalescer';
import type { KeepAlive } from '../fragments/cache/shared-flights';
import { FIXED_VERSIONS } from '../fragments/cache/versions';
import { originRequestHeaders, processesEsi } from '../http/headers';
import { assembledPageHeaders } from '../http/page-headers';
import { noneMatch, notModified } from '../http/page-validator';
import { hasOutOfOrder } from '../http/placement-decision';
import { ASSEMBLED_MAX_MS, sameForEveryone } from '../page-cache/assembled-pages';
import type { CachedPage } from '../page-cache/cached-page';
import type { PageCache, PageOrigin, PageRequest } from '../page-cache/page-cache';
import { keyedCookies, keyedRequestHeaders, pageKeyParts } from '../page-cache/page-key';
import { PAGE_MAX_BYTES } from '../page-cache/page-storability';
import { isPreview } from '../request/gateway-switches';
import { RequestVars } from '../request/request-vars';
import { loggedUrl } from '../request/switches';
import type { VisitorRequest } from '../request/visitor-request';
import type { GatewayServices } from './gateway-services';

/** The headers the gateway itself puts on an origin request (headers.ts, the trace span): kept on a cached route's. */
const GATEWAY_SET: ReadonlySet<string> = new Set(['surrogate-capability', 'x-forwarded-host', 'x-forwarded-proto', 'traceparent', 'tracestate']);

/** A view's page cache: the route's `page:` block and the isolate's cache. */
export interface PageCacheUse {
  spec: PageCacheSpec;
  cache: PageCache;
}

/**
 * The page cache serves GETs (and answers HEADs) on routes with `page:`. A
 * placement preview asks the origin as before: it is a one-off view, never
 * stored.
 */
export function pageCacheFor(visitor: VisitorRequest, route: CompiledRoute, services: GatewayServices): PageCacheUse | undefined {
  const { pages } = services;
  if (!route.page || !pages || visitor.switches.placement !== undefined) return undefined;
  if (visitor.request.method !== 'GET' && visitor.request.method !== 'HEAD') return undefined;
  return { spec: route.page, cache: pages };
}

/** Page keys computed in this isolate (a memo apart from the fragments'). */
const pageKeys = new CacheKeys();

/** Each view's page key, computed once (the assembled copy is looked up, and kept, by it too). */
const viewKeys = new WeakMap<VisitorRequest, Promise<CacheKey>>();

/** The page's key (computed once per view): its route, upstream path and query, each `page.vary` value, and the version purges bump. */
function pageKey(
  visitor: VisitorRequest,
  route: CompiledRoute,
  spec: PageCacheSpec,
  pageUrl: URL,
  services: GatewayServices,
  keepAlive: KeepAlive,
): Promise<CacheKey> {
  const known = viewKeys.get(visitor);
  if (known) return known;
  const key = computePageKey();
  viewKeys.set(visitor, key);
  return key;

  async function computePageKey(): Promise<CacheKey> {
    // Only a `page.vary` of a header, geo or segment reads the request's variables (the segment may wait on KV).
    const vars = spec.vary.some((v) => v.source !== 'cookie') ? new RequestVars(visitor, await visitor.segment()) : undefined;
    const version = await (services.cache?.versions ?? FIXED_VERSIONS).pageVersion(route.name, spec.tags, keepAlive);
    // A cookie as the origin receives it (raw): a decoded value would let `%45UR` fill the entry `EUR` reads.
    const cookies = new Map(keyedCookies(visitor.request.headers.get('cookie'), spec));
    const value = (v: TemplateVariable) => (v.source === 'cookie' ? cookies.get(v.name) : vars?.get(v));
    return pageKeys.key(pageKeyParts(route.name, pageUrl, spec.vary, value, version), 'tessera.page');
  }
}

/** The page through the page cache: a cached copy, or one origin request for every view that needs it. */
export async function askPageCache(
  visitor: VisitorRequest,
  route: CompiledRoute,
  { spec, cache }: PageCacheUse,
  pageUrl: URL,
  /** The origin request's own headers (the trace span's among them), before credentials are cut down: made when a request is sent. */
  requestHeaders: () => Headers,
  send: PageRequest['send'],
  services: GatewayServices,
  keepAlive: KeepAlive,
): Promise<PageOrigin> {
  const key = await pageKey(visitor, route, spec, pageUrl, services, keepAlive);
  const coalescer = services.cache?.coalescer;
  // `coalesce: global`: the miss goes through the Durable Object that owns the key, one origin request across isolates.
  const global = (coalescer: DurableObjectNamespace) => async (headers: Headers, signal: AbortSignal, background: boolean) => {
    const conditional = `${headers.get('if-none-match') ?? ''}\n${headers.get('if-modified-since') ?? ''}`;
    const job = {
      kind: 'page' as const,
      key: `${key.id}\n${conditional}`,
      url: pageUrl.href,
      headers: [...headers],
      timeoutMs: route.timeouts.originMs + route.timeouts.pageMs,
      maxBytes: PAGE_MAX_BYTES,
    };
    return (await fetchPageThroughCoalescer(coalescer, job, signal)) ?? send(headers, signal, background);
  };
  const viaObject = spec.coalesce === 'global' && coalescer !== undefined;
  return cache.answer({
    spec,
    key,
    url: pageUrl,
    headers: () => keyedRequestHeaders(requestHeaders(), spec, GATEWAY_SET),
    send: viaObject && coalescer ? global(coalescer) : send,
    esi: (headers) => processesEsi(route, headers),
    outOfOrder: hasOutOfOrder(route),
    // The Object answers once it has the whole page: its wait is bounded by the page's time too.
    originTimeoutMs: viaObject ? route.timeouts.originMs + route.timeouts.pageMs : route.timeouts.originMs,
    bodyTimeoutMs: route.timeouts.pageMs,
    lastGood: services.lastGoodPages,
    keepAlive,
  });
}

/** A HEAD answered from a cached page that may still be served (fresh, or within stale-while-revalidate): the headers its GET would get, without the origin. */
export async function cachedHead(
  visitor: VisitorRequest,
  route: CompiledRoute,
  use: PageCacheUse,
  pageUrl: URL,
  services: GatewayServices,
  keepAlive: KeepAlive,
): Promise<Response | undefined> {
  // A page kept assembled has its GET's headers whole, its ETag among them.
  const assembled = await assembledCopy(visitor, route, pageUrl, services, keepAlive);
  if (assembled) return assembled;
  const page = await use.cache.servable(await pageKey(visitor, route, use.spec, pageUrl, services, keepAlive));
  if (!page) return undefined;
  const origin = new Headers(page.headers);
  return new Response(null, { status: page.status, statusText: page.statusText, headers: cachedPageHeaders(page, origin, route, processesEsi(route, origin)) });
}

/** Each stored copy's assembled headers, worked out at its first view: they follow from its origin headers and the route alone. */
const assembledHeaders = new WeakMap<CachedPage, { route: CompiledRoute; esi: boolean; entries: Array<[string, string]> }>();

/** `assembledPageHeaders` for a cached page (`origin`: its headers), as a copy each view may change. */
export function cachedPageHeaders(page: CachedPage, origin: Headers, route: CompiledRoute, esiActive: boolean): Headers {
  const known = assembledHeaders.get(page);
  if (known && known.route === route && known.esi === esiActive) return new Headers(known.entries);
  const headers = assembledPageHeaders(origin, route, esiActive);
  assembledHeaders.set(page, { route, esi: esiActive, entries: [...headers] });
  return headers;
}

/** The origin request's headers for an assembled page. */
export function pageRequestHeaders(visitor: VisitorRequest, services: GatewayServices): Headers {
  return originRequestHeaders(visitor.request, visitor.url, { forAssembly: true, publicHost: services.publicHost });
}

/**
 * A page whose assembled output is kept (page-cache/assembled-pages.ts): the
 * same bytes for everyone, answered without resolving its fragments (a HEAD
 * gets its headers, ETag included). Never for a view with switches (the
 * debug view, a preview), which is not the page.
 */
export async function assembledCopy(
  visitor: VisitorRequest,
  route: CompiledRoute,
  pageUrl: URL,
  services: GatewayServices,
  keepAlive: KeepAlive,
): Promise<Response | undefined> {
  const use = pageCacheFor(visitor, route, services);
  const { switches, request } = visitor;
  if (!use || (request.method !== 'GET' && request.method !== 'HEAD') || switches.debugView || isPreview(switches)) return undefined;
  const page = use.cache.assembled.get(assembledKey(await pageKey(visitor, route, use.spec, pageUrl, services, keepAlive), visitor));
  if (!page) return undefined;
  const headers = new Headers(page.headers);
  headers.append('server-timing', 'origin;dur=0;desc="hit", assembled;desc="hit"');
  if (services.logTimings) console.log(`tessera: ${loggedUrl(visitor.url)} 0ms | origin 0ms hit, the assembled copy`);
  if (noneMatch(request.headers.get('if-none-match'), page.etag)) return notModified(headers);
  return new Response(request.method === 'HEAD' ? null : page.body, { status: page.status, statusText: page.statusText, headers });
}

/**
 * An assembled copy's key: the page's, and the host the visitor asked. The
 * cached page is the same whichever of a Worker's hostnames asks for it, but
 * its assembly may read that host (ESI's `$(HTTP_HOST)`, the page's own
 * origin for asset URLs).
 */
function assembledKey(key: CacheKey, visitor: VisitorRequest): string {
  return `${key.id}\n${visitor.url.origin}`;
}

/**
 * Keeps a view's assembled output when the page is the same for everyone
 * (nothing in its headers says it read the visitor) and every part of it was
 * a fresh cache hit, for as long as all of them stay fresh (assembled-pages.ts).
 */
export async function keepAssembled(
  visitor: VisitorRequest,
  route: CompiledRoute,
  page: CachedPage,
  response: { status: number; statusText: string; headers: Headers; body: Uint8Array; etag: string },
  fragments: ReadonlyArray<{ result?: FragmentResult }>,
  services: GatewayServices,
): Promise<void> {
  const use = pageCacheFor(visitor, route, services);
  // A view that read its visitor where no header says so (a fragment's own ESI, an `esi_` argument) is that visitor's.
  if (!use || !sameForEveryone(response.headers) || visitor.readUnkeyed) return;
  const fresh = fragments.map(({ result }) => (result?.outcome === 'hit' && result.source === 'src' ? result.freshUntil : undefined));
  if (fresh.some((until) => until === undefined)) return;
  const now = use.cache.now();
  const expiresAt = Math.min(now + ASSEMBLED_MAX_MS, page.storedAt + page.ttlMs, ...(fresh as number[]));
  const headers = [...response.headers].filter(([name]) => name !== 'server-timing');
  // The key this view's page was looked up by (askPageCache computed it).
  const key = await viewKeys.get(visitor);
  if (key)
    use.cache.assembled.keep(assembledKey(key, visitor), {
      status: response.status,
      statusText: response.statusText,
      headers,
      body: response.body,
      etag: response.etag,
      expiresAt,
    });
}
