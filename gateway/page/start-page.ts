import type { CompiledRoute } from '../contract/types';
import { ConnectionSlots, type Release } from '../fetch/connection-slots';
import { HostPolicy } from '../fetch/host-policy';
import { FragmentSession } from '../fragments/fragment-session';
import { discoverAttempt } from '../markup/discover-attempt';
import { PageEsi } from '../markup/page-esi';
import { exposureMetrics } from '../observe/exposure-metrics';
import { fanOut, PageTimeline } from '../observe/fragment-events';
import { fragmentMetrics } from '../observe/fragment-metrics';
import { TraceContext } from '../observe/trace-context';
import type { PageOrigin } from '../page-cache/page-cache';
import { EsiBodyScan } from '../request/esi-injection';
import { RequestVars } from '../request/request-vars';
import type { VisitorRequest } from '../request/visitor-request';
import { askPageCache, pageCacheFor, pageRequestHeaders } from './cached-origin';
import type { GatewayServices } from './gateway-services';
import { PageAborted, PageLifetime } from './page-lifetime';

/** One page under way: what every later step of `composePage` reads. */
export interface StartedPage {
  readonly visitor: VisitorRequest;
  readonly route: CompiledRoute;
  readonly origin: URL;
  /** When the page request began (Date.now()). */
  readonly began: number;
  readonly lifetime: PageLifetime;
  /** Every fragment's lifecycle, for Server-Timing, the dev log and the debug view alike. */
  readonly timeline: PageTimeline;
  readonly trace: TraceContext;
  readonly esi: PageEsi;
  readonly session: FragmentSession;
  /** The origin's page, on its way: from the origin, or from the page cache on a route with `page:`. */
  readonly originPage: Promise<PageOrigin>;
  /** Whether this view went through the page cache (Server-Timing then says where its page came from). */
  readonly pageCached: boolean;
  /** Whether the page is processed as ESI: known once the origin has answered (early-ends.ts decides). */
  esiActive: boolean;
  /** A form's body on a route that may run ESI, scanned for ESI markup on its way to the origin (esi-injection.ts). */
  readonly bodyScan?: EsiBodyScan;
}

const FIRST = () => Number.NEGATIVE_INFINITY;
const LAST = () => Number.POSITIVE_INFINITY;
const READS_NO_BODY = new Set(['GET', 'HEAD']);

/**
 * Starts a matched request (any method but HEAD): the origin page and every declared fragment are
 * requested at the same moment. The origin request goes out first, ahead of
 * any queued fragment: it gates the head, which fragments never do.
 */
export async function startPage(
  visitor: VisitorRequest,
  route: CompiledRoute,
  origin: URL,
  /** The page at the origin (upstream-url.ts): what is fetched, and what relative includes resolve against. */
  pageUrl: URL,
  services: GatewayServices,
  ctx: ExecutionContext,
): Promise<StartedPage> {
  const began = Date.now();
  const { request, url } = visitor;
  const lifetime = new PageLifetime(route.timeouts, url.pathname, request.signal);
  const slots = new ConnectionSlots(route.limits.concurrency);
  const timeline = new PageTimeline();
  const trace = TraceContext.from(request);
  const bodyScan = route.esi !== 'off' && visitor.request.body && !READS_NO_BODY.has(visitor.request.method) ? new EsiBodyScan() : undefined;
  const viaCache = request.method === 'GET' ? pageCacheFor(visitor, route, services) : undefined;
  const sender = viaCache && firstSlot(slots, lifetime.signal, services, pageUrl);
  const originPage: Promise<PageOrigin> =
    viaCache && sender
      ? askPageCache(
          visitor,
          route,
          viaCache,
          pageUrl,
          () => spanHeaders(pageRequestHeaders(visitor, services), trace),
          sender,
          services,
          (work) => ctx.waitUntil(work),
        ).finally(sender.done)
      : requestOrigin(visitor, pageUrl, trace, services, slots, lifetime.signal, bodyScan).then((response) => ({ from: 'origin', response, state: 'miss' }));
  // Variables read the query without the gateway's own switches: the debug token must not reach a fragment host.
  // Built for every page, used once the origin says the page is ESI (its variables are read lazily).
  const esi = new PageEsi(
    visitor,
    visitor.visitorUrl,
    route,
    pageUrl.href,
    (message) => console.error(`tessera: ${url.pathname}: ${message}`),
    (block) => discoverAttempt(block, (include) => session.discovery.include(include)),
  );
  // The segment lookup waits on KV, so it starts only once the origin request is out.
  const vars = new RequestVars(visitor, await visitor.segment(), await visitor.arms(services.experiments.weights, (work) => ctx.waitUntil(work)));
  // The page's own state, which the session asks about later (whether the page turned out to be ESI).
  const page = { esiActive: false };
  const { metrics, observer } = services;
  const session = new FragmentSession({
    route,
    policy: new HostPolicy(origin.origin, route.hosts),
    vars,
    request,
    fetch: services.fetch,
    signal: lifetime.signal,
    slots,
    latency: services.latency,
    trace,
    observer: fanOut([
      timeline,
      ...(metrics ? [fragmentMetrics(metrics, route.name)] : []),
      ...(services.experiments.exposures ? [exposureMetrics(services.experiments.exposures, route.name)] : []),
      ...(observer ? [observer] : []),
    ]),
    began,
    pageEsi: () => page.esiActive,
    esi,
    faults: visitor.switches.faults,
    overrides: services.overrides,
    placement: visitor.switches.placement,
    onIncludeFailed: (include, fragment) => {
      if (route.esiErrors !== 'fail') return;
      const detail = fragment.result.detail ?? fragment.result.outcome;
      lifetime.end(new PageAborted('assembly-failed', `esi:include src="${include.src}" failed (${detail}), and this route has esiErrors: fail`));
    },
    cache: services.cache,
    waitUntil: (work) => ctx.waitUntil(work),
  });
  // A GET's fragments start with it. A form's answer is often a redirect, so its fragments wait until it is a page (early-ends.ts).
  if (request.method === 'GET') session.prefetchDeclared();
  const pageCached = viaCache !== undefined;
  return Object.assign(page, { visitor, route, origin, began, lifetime, timeline, trace, esi, session, originPage, pageCached, bodyScan });
}

/**
 * The origin request of a page-cache route, which is sent (if at all) only
 * once the cache has looked: it keeps the connection slot it would have taken
 * first, so the declared fragments that start meanwhile cannot queue it
 * behind them. The slot is held from now until the request is sent, or given
 * back once the cache has answered without it.
 */
function firstSlot(slots: ConnectionSlots, pageSignal: AbortSignal, services: GatewayServices, pageUrl: URL) {
  let held: Promise<Release> | undefined = slots.acquire(FIRST, pageSignal);
  held.catch(() => {});
  const send = (headers: Headers, signal: AbortSignal, background = false) => {
    // A refresh in the background (stale-while-revalidate) is not this view's page: it goes after the view's own requests.
    if (background) return slots.send(LAST, signal, () => services.fetch(pageUrl.toString(), { headers, redirect: 'manual', signal }));
    const slot = held ?? slots.acquire(FIRST, signal);
    held = undefined;
    return slot.then(async (release) => {
      try {
        return await services.fetch(pageUrl.toString(), { headers, redirect: 'manual', signal });
      } finally {
        release();
      }
    });
  };
  /** The cache answered: a slot still held goes back to the fragments. */
  const done = () => {
    void held?.then((release) => release()).catch(() => {});
    held = undefined;
  };
  return Object.assign(send, { done });
}

/** The origin request: the client's method, body and headers (less hop-by-hop, conditionals and the debug header), as a span of the page's trace. */
function requestOrigin(
  visitor: VisitorRequest,
  pageUrl: URL,
  trace: TraceContext,
  services: GatewayServices,
  slots: ConnectionSlots,
  signal: AbortSignal,
  bodyScan: EsiBodyScan | undefined,
): Promise<Response> {
  const headers = spanHeaders(pageRequestHeaders(visitor, services), trace);
  // A form's POST (or any method) goes to the origin as sent, its body streamed through once; its answer is assembled like a GET's.
  const { method, body } = visitor.request;
  const sent = READS_NO_BODY.has(method) || !body ? undefined : bodyScan ? body.pipeThrough(bodyScan.stream) : body;
  const init = { method, headers, redirect: 'manual' as const, signal, body: sent };
  return slots.send(FIRST, signal, () => services.fetch(pageUrl.toString(), init));
}

/** The origin request as a span of the page's trace. */
function spanHeaders(headers: Headers, trace: TraceContext): Headers {
  for (const [name, value] of trace.headersForSpan()) headers.set(name, value);
  return headers;
}
