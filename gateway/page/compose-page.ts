import { OutOfOrderPage } from '../assemble/out-of-order-page';
import type { CompiledRoute } from '../contract/types';
import { placementDecision } from '../http/placement-decision';
import type { VisitorRequest } from '../request/visitor-request';
import { answerOrigin } from './early-ends';
import type { GatewayServices } from './gateway-services';
import { pumpPage } from './page-pump';
import { pageResponse } from './page-response';
import { startPage } from './start-page';

/**
 * A matched request (any method but HEAD), conducted: the origin page and every declared fragment are
 * requested at the same moment (start-page.ts); the answers before a body are
 * given (early-ends.ts); the origin body streams through the pump
 * (page-pump.ts) into the assembler, under the page's headers
 * (page-response.ts).
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
  const outOfOrder = placement.kind === 'out-of-order' ? new OutOfOrderPage(placement.nonce, started.esi.inBand) : undefined;
  const body = pumpPage(started, answer.body, outOfOrder);
  return pageResponse(started, answer, body, outOfOrder, services.logTimings);
}
