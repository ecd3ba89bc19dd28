import { assembleResponse } from '../assemble/assemble';
import { OutOfOrderPage } from '../assemble/out-of-order-page';
import type { CompiledRoute } from '../contract/types';
import { DebugView } from '../debug/debug-view';
import { ConnectionSlots } from '../fetch/connection-slots';
import { HostPolicy } from '../fetch/host-policy';
import { FragmentSession } from '../fragments/fragment-session';
import { errorPage } from '../http/error-page';
import { isHtml, originRequestHeaders, processesEsi } from '../http/headers';
import { assembledPageHeaders } from '../http/page-headers';
import { placementDecision } from '../http/placement-decision';
import { passThrough } from '../http/proxy';
import { discoverAttempt } from '../markup/discover-attempt';
import { includeMarker, slotMarker } from '../markup/in-band';
import { MarkupScanner } from '../markup/markup-scanner';
import { PageEsi } from '../markup/page-esi';
import { fanOut, PageTimeline } from '../observe/fragment-events';
import { fragmentMetrics } from '../observe/fragment-metrics';
import { serverTiming, timingReport } from '../observe/server-timing';
import { TraceContext } from '../observe/trace-context';
import { isPreview } from '../request/gateway-switches';
import { RequestVars } from '../request/request-vars';
import { upstreamUrl } from '../request/upstream-url';
import type { VisitorRequest } from '../request/visitor-request';
import type { GatewayServices } from './gateway-services';
import { PageAborted, PageLifetime } from './page-lifetime';

const FIRST = () => Number.NEGATIVE_INFINITY;

/**
 * A matched GET: the origin page and every declared fragment are requested at
 * the same moment; the page then streams through the assembling rewriter.
 */
export async function composePage(
  visitor: VisitorRequest,
  route: CompiledRoute,
  origin: URL,
  services: GatewayServices,
  ctx: ExecutionContext,
): Promise<Response> {
  const { request, url, switches } = visitor;
  const { fetch, publicHost, cache, logTimings, latency, metrics, observer, overrides } = services;
  const began = Date.now();
  const lifetime = new PageLifetime(route.timeouts, url.pathname, request.signal);
  let pageEsi = false;
  const slots = new ConnectionSlots(route.limits.concurrency);
  /** The page at the origin: what is fetched, and what relative includes resolve against. */
  const pageUrl = upstreamUrl(origin, url);
  // Every fragment's lifecycle, for Server-Timing, the dev log and the metrics alike.
  const timeline = new PageTimeline();
  const trace = TraceContext.from(request);
  const originHeaders = originRequestHeaders(request, url, { forAssembly: true, publicHost });
  for (const [name, value] of trace.headersForSpan()) originHeaders.set(name, value);
  // The origin request goes out first, ahead of any queued fragment: it gates the head, which fragments never do.
  const pending = slots.send(FIRST, lifetime.signal, () =>
    fetch(pageUrl.toString(), {
      method: 'GET',
      headers: originHeaders,
      redirect: 'manual',
      signal: lifetime.signal,
    }),
  );
  // Variables read the query without the gateway's own switches: the debug token must not reach a fragment host.
  const visitorUrl = visitor.visitorUrl;
  // Built for every page, used once the origin says the page is ESI (its variables are read lazily).
  const esi = new PageEsi(
    request,
    visitorUrl,
    route,
    pageUrl.href,
    (message) => console.error(`tessera: ${url.pathname}: ${message}`),
    (block) => discoverAttempt(block, (include) => session.discovery.include(include)),
  );
  // The segment lookup waits on KV, so it starts only once the origin request is out.
  const vars = new RequestVars(visitor, await visitor.segment());
  const session = new FragmentSession({
    route,
    policy: new HostPolicy(origin.origin, route.hosts),
    vars,
    request,
    fetch,
    signal: lifetime.signal,
    slots,
    latency,
    trace,
    observer: fanOut([timeline, ...(metrics ? [fragmentMetrics(metrics, route.name)] : []), ...(observer ? [observer] : [])]),
    began,
    pageEsi: () => pageEsi,
    esi,
    faults: switches.faults,
    overrides,
    placement: switches.placement,
    onIncludeFailed: (include, fragment) => {
      if (route.esiErrors !== 'fail') return;
      const detail = fragment.result.detail ?? fragment.result.outcome;
      lifetime.end(new PageAborted('assembly-failed', `esi:include src="${include.src}" failed (${detail}), and this route has esiErrors: fail`));
    },
    cache,
    waitUntil: (work) => ctx.waitUntil(work),
  });
  session.prefetchDeclared();

  let page: Response;
  try {
    page = await lifetime.originResponse(pending);
  } catch (error) {
    session.cancel();
    const failure = lifetime.failure;
    lifetime.release();
    if (failure?.cause === 'origin-timeout' || failure?.cause === 'deadline') return errorPage(504, 'The origin server did not answer in time.');
    if (failure?.cause === 'client-gone') return errorPage(499, 'The client went away.');
    console.error(`tessera: origin ${origin.origin} unreachable for ${url.pathname}:`, error);
    return errorPage(502, 'The origin server could not be reached.');
  }
  const originMs = Date.now() - began;

  if (page.status < 200 || page.status > 299 || !isHtml(page.headers) || !page.body) {
    session.cancel();
    lifetime.release();
    return passThrough(page);
  }
  pageEsi = processesEsi(route, page.headers);

  const required = await session.requiredDelivered();
  if (!required.ok) {
    await page.body.cancel();
    session.cancel();
    lifetime.release();
    const names = required.failed.map((r) => r.id).join(', ');
    console.error(`tessera: required fragment failed on ${url.pathname}: ${required.failed.map((r) => `${r.id} (${r.detail})`).join('; ')}`);
    return errorPage(
      route.onFailure.status,
      `A required part of this page (${names}) is unavailable.`,
      { 'server-timing': serverTiming(originMs, timeline.fragments()) },
      route.onFailure.html,
    );
  }

  const placement = placementDecision(route, request, page.headers, switches.placement);
  const { inBand } = esi;
  const outOfOrder = placement.kind === 'out-of-order' ? new OutOfOrderPage(placement.nonce, inBand) : undefined;

  // The pump applies ESI, scans and cuts the markup itself, and writes into a native stream: no JavaScript stage of its own.
  const input = new IdentityTransformStream();
  const { discovery } = session;
  const scanner = new MarkupScanner(
    {
      include: (include) => {
        outOfOrder?.sighted(includeMarker(include));
        return discovery.include(include);
      },
      slot: (id) => {
        outOfOrder?.sighted(slotMarker(id));
        return discovery.slot(id);
      },
      waiting: () => discovery.waiting(),
      inline: discovery.inline,
    },
    pageEsi,
    // On an out-of-order page the scanner follows the open elements, so it knows where a placeholder or a template may go.
    outOfOrder?.elements,
  );
  const esiPass = pageEsi ? esi.stream() : undefined;
  lifetime.pipeOrigin(page.body, input.writable, {
    pieces: esiPass ? (chunk) => esiPass.transform(chunk).flatMap((piece) => scanner.pieces(piece)) : (chunk) => scanner.pieces(chunk),
    end: () => (esiPass ? esiPass.flush().flatMap((piece) => scanner.pieces(piece)) : []),
    interjections: outOfOrder && {
      due: () => outOfOrder.due(),
      take: () => outOfOrder.take(scanner.atSafePoint),
      drain: (signal) => outOfOrder.drain(signal),
    },
  });
  const body = input.readable;

  const headers = assembledPageHeaders(page.headers, route, pageEsi);
  headers.append('server-timing', serverTiming(originMs, timeline.fragments()));
  const debugView = switches.debugView ? new DebugView() : undefined;
  debugView?.adjust(headers);
  // A page with forced failures or placements is a preview, never the page.
  if (isPreview(switches)) headers.set('cache-control', 'private, no-store');
  const report = logTimings ? () => console.log(timingReport(url, originMs, Date.now() - began, timeline.fragments(), trace.traceId)) : undefined;
  const context = { depth: 0, ancestry: [], esi: pageEsi, debug: !!debugView, inBand };
  const assembled = assembleResponse(
    new Response(body),
    session,
    context,
    (end) => {
      lifetime.finish(report);
      // Templates still owed go in at the very end (the pump holds the page's end until each has had a flush point).
      const templates = outOfOrder?.templates();
      if (templates) end.append(templates, { html: true });
      if (!debugView) return;
      const spans = timeline.fragments();
      end.append(debugView.markup({ url, traceId: trace.traceId, originMs, totalMs: Date.now() - began, route, headers, spans }), { html: true });
    },
    outOfOrder,
  );
  return new Response(assembled.body, { status: page.status, statusText: page.statusText, headers });
}
