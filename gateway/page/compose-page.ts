import { OutOfOrderPage } from '../assemble/out-of-order-page';
import type { CompiledRoute } from '../contract/types';
import { placementDecision } from '../http/placement-decision';
import { markupBytes } from '../markup/page-compiler';
import { readsEsiArgs, upstreamUrl } from '../request/upstream-url';
import type { VisitorRequest } from '../request/visitor-request';
import { assembledCopy, keepAssembled } from './cached-origin';
import { answerOrigin } from './early-ends';
import type { GatewayServices } from './gateway-services';
import { pumpPage } from './page-pump';
import { type PageAssembly, pageResponse } from './page-response';
import { startPage } from './start-page';

/**
 * A matched request (any method but HEAD), conducted: the origin page (or
 * its cached copy) and every declared fragment are requested at the same
 * moment (start-page.ts); the answers before a body are given
 * (early-ends.ts); then the page is assembled under its headers
 * (page-response.ts). A cached page in compiled form that goes in document
 * order is rendered marker by marker; every other page streams through the
 * pump (page-pump.ts) and the assembling rewriter, the origin's bytes or the
 * cached copy's alike.
 */
export async function composePage(
  visitor: VisitorRequest,
  route: CompiledRoute,
  origin: URL,
  services: GatewayServices,
  ctx: ExecutionContext,
): Promise<Response> {
  // A page the same for everyone, kept assembled: no fragment is resolved for it.
  const pageUrl = upstreamUrl(origin, visitor.url, readsEsiArgs(route));
  if (route.page && services.pages) {
    const copy = await assembledCopy(visitor, route, pageUrl, services, (work) => ctx.waitUntil(work));
    if (copy) return copy;
  }
  const started = await startPage(visitor, route, origin, pageUrl, services, ctx);
  // The route's remembered assets for the Link header, read from KV once per isolate while the origin answers: never waited for.
  services.routeAssets.warm(route.name, (work) => ctx.waitUntil(work));
  const answer = await answerOrigin(started);
  if (answer.kind === 'ended') return answer.response;
  const placement = placementDecision(route, visitor.request, answer.page.headers, visitor.switches.placement);
  const outOfOrder = placement.kind === 'out-of-order' ? new OutOfOrderPage(placement.nonce, started.esi.inBand) : undefined;
  const markup = answer.source.from === 'cache' ? answer.source.page.markup : undefined;
  const cut = markup?.kind === 'compiled' ? markup.cut : undefined;
  let assembly: PageAssembly;
  if (answer.source.from === 'cache' && markup?.kind === 'compiled' && cut?.kind === 'markers' && (!outOfOrder || cut.outOfOrder)) {
    // What the look-ahead scan would report on its way through the page: every marker, in document order.
    for (const marker of cut.markers) {
      if (marker.kind === 'slot') started.session.discovery.slot(marker.id);
      else started.session.discovery.include(marker.include);
    }
    const { bytes } = markup;
    const map = cut.outOfOrder;
    assembly = {
      kind: 'compiled',
      bytes,
      markers: cut.markers,
      headEnd: cut.headEnd,
      digest: answer.source.page.digest,
      outOfOrder: outOfOrder && map && { page: outOfOrder, map },
    };
  } else {
    // A cached page that is not rendered from its compiled form is replayed through the pump: the dev log says why.
    const replayed =
      markup &&
      (markup.kind === 'pending'
        ? 'it could not be compiled'
        : cut?.kind === 'replay'
          ? cut.why
          : 'an out-of-order view, and the page was compiled without its out-of-order map');
    // The origin's body, or a cached page's bytes replayed.
    const body = answer.body ?? (markup ? new Response(markupBytes(markup)).body : null);
    if (!body) throw new Error('an origin page with no body reached assembly'); // early-ends.ts passes those through
    assembly = { kind: 'streamed', body: pumpPage(started, body, outOfOrder), outOfOrder, replayed };
  }
  return pageResponse(started, answer, assembly, services.logTimings, { memory: services.routeAssets, waitUntil: (work) => ctx.waitUntil(work) }, (whole) =>
    ctx.waitUntil(keepAssembled(visitor, route, whole.page, whole, whole.fragments, services)),
  );
}
