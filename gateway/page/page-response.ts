import { assembleResponse } from '../assemble/assemble';
import type { OutOfOrderPage } from '../assemble/out-of-order-page';
import { DebugView } from '../debug/debug-view';
import { assembledPageHeaders } from '../http/page-headers';
import { serverTiming, timingReport } from '../observe/server-timing';
import { isPreview } from '../request/gateway-switches';
import type { StartedPage } from './start-page';

/**
 * The assembled page's response: its headers (the origin's as they apply to
 * the page, Server-Timing, the debug view's, a preview's `no-store`) and the
 * assembler's output, with what goes at the end of the document: templates
 * still owed on an out-of-order page, the debug overlay, and (tessera dev)
 * the timing report once the page has streamed.
 */
export function pageResponse(
  started: StartedPage,
  origin: { page: Response; originMs: number },
  body: ReadableStream<Uint8Array>,
  outOfOrder: OutOfOrderPage | undefined,
  logTimings: boolean,
): Response {
  const { visitor, route, began, lifetime, timeline, trace, session, esi } = started;
  const { page, originMs } = origin;
  const pageEsi = started.esiActive;
  const { url, switches } = visitor;
  const headers = assembledPageHeaders(page.headers, route, pageEsi);
  headers.append('server-timing', serverTiming(originMs, timeline.fragments()));
  const debugView = DebugView.forPage(switches, route, url.pathname, timeline);
  debugView?.adjust(headers);
  // A page with forced failures or placements is a preview, never the page.
  if (isPreview(switches)) headers.set('cache-control', 'private, no-store');
  const report = logTimings ? () => console.log(timingReport(url, originMs, Date.now() - began, timeline.fragments(), trace.traceId)) : undefined;
  const context = { depth: 0, ancestry: [], esi: pageEsi, debug: !!debugView, inBand: esi.inBand };
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
