import { OutOfOrderPage } from '../assemble/out-of-order-page';
import type { CompiledRoute } from '../contract/types';
import { placementDecision } from '../http/placement-decision';
import type { VisitorRequest } from '../request/visitor-request';
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
  const started = await startPage(visitor, route, origin, services, ctx);
  const answer = await answerOrigin(started);
  if (answer.kind === 'ended') return answer.response;
  const placement = placementDecision(route, visitor.request, answer.page.headers, visitor.switches.placement);
  const cut = answer.source.from === 'cache' ? answer.source.page.markup.cut : undefined;
  let assembly: PageAssembly;
  if (cut?.kind === 'markers' && placement.kind === 'in-order' && answer.source.from === 'cache') {
    void answer.body.cancel().catch(() => {});
    for (const marker of cut.markers) {
      if (marker.kind === 'slot') started.session.discovery.slot(marker.id);
      else started.session.discovery.include(marker.include);
    }
    assembly = { kind: 'compiled', bytes: answer.source.page.markup.bytes, markers: cut.markers, digest: answer.source.page.digest };
  } else {
    const outOfOrder = placement.kind === 'out-of-order' ? new OutOfOrderPage(placement.nonce, started.esi.inBand) : undefined;
    assembly = { kind: 'streamed', body: pumpPage(started, answer.body, outOfOrder), outOfOrder };
  }
  return pageResponse(started, answer, assembly, services.logTimings);
}
