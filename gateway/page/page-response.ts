import { assembleResponse } from '../assemble/assemble';
import { CompiledAssembly, type Piece } from '../assemble/compiled-assembly';
import type { OutOfOrderPage } from '../assemble/out-of-order-page';
import { PageAssets } from '../assemble/page-assets';
import type { FragmentResult } from '../contract/types';
import { DebugView } from '../debug/debug-view';
import { HostPolicy } from '../fetch/host-policy';
import { madePrivate } from '../http/page-cache-control';
import { assembledPageHeaders } from '../http/page-headers';
import { noneMatch, notModified, pageEtag, routeVersion } from '../http/page-validator';
import type { Marker, OutOfOrderMap } from '../markup/page-compiler';
import { serverTiming, timingReport } from '../observe/server-timing';
import type { CachedPage } from '../page-cache/cached-page';
import type { PageOrigin } from '../page-cache/page-cache';
import { isPreview } from '../request/gateway-switches';
import { cachedPageHeaders } from './cached-origin';
import { PageAborted } from './page-lifetime';
import type { RouteAssets } from './route-assets';
import type { StartedPage } from './start-page';

/**
 * How the page's markup becomes the body: the origin's bytes streamed
 * through the pump and the assembling rewriter, or a cached page's compiled
 * form rendered marker by marker.
 */
/** A cached page's view written whole: what keeping it assembled needs. */
export interface WholePage {
  page: CachedPage;
  status: number;
  statusText: string;
  headers: Headers;
  body: Uint8Array;
  etag: string;
  fragments: ReadonlyArray<{ result?: FragmentResult }>;
}

export type PageAssembly =
  /** `replayed`: a cached page's bytes streamed again, and why they could not be rendered from the compiled form. */
  | { kind: 'streamed'; body: ReadableStream<Uint8Array>; outOfOrder: OutOfOrderPage | undefined; replayed?: string }
  /** `digest`: the cached page's, from which its ETag is computed. */
  | {
      kind: 'compiled';
      bytes: Uint8Array;
      markers: readonly Marker[];
      headEnd?: number;
      digest: string;
      outOfOrder: { page: OutOfOrderPage; map: OutOfOrderMap } | undefined;
    };

/**
 * The assembled page's response: its headers (the origin's as they apply to
 * the page, Server-Timing, the debug view's, a preview's `no-store`) and the
 * assembled body, with what goes at the end of the document: templates
 * still owed on an out-of-order page, the debug overlay, and (tessera dev)
 * the timing report once the page has streamed.
 *
 * A cached page rendered from its compiled form may get a validator of its
 * own (http/page-validator.ts): when every part settles before the headers go
 * out (at once, or within the route's `conditional` budget for a request
 * with `If-None-Match`), its ETag is known, and a request that already has
 * that body gets a 304.
 *
 * Each fragment's assets go into the page once (assemble/page-assets.ts);
 * those known before the body (declared, or placed by the route's earlier
 * pages: `routeAssets`) are announced in the page's `Link` header.
 */
export async function pageResponse(
  started: StartedPage,
  origin: { page: Response; originMs: number; source: PageOrigin },
  assembly: PageAssembly,
  logTimings: boolean,
  routeAssets?: { memory: RouteAssets; waitUntil: (work: Promise<unknown>) => void },
  /** Told of a cached page's body written whole, with its validator: it may be kept assembled (cached-origin.ts). */
  wrote?: (whole: WholePage) => void,
): Promise<Response> {
  const { visitor, route, began, lifetime, timeline, trace, session, esi, pageCached } = started;
  const { page, originMs, source } = origin;
  const pageEsi = started.esiActive;
  const { url, switches } = visitor;
  const originState = pageCached ? source.state : undefined;
  const debugView = DebugView.forPage(switches, route, url.pathname, timeline);
  const policy = new HostPolicy(started.origin.origin, route.hosts);
  const assets = new PageAssets({ route, policy, pageUrl: url });
  const context = { depth: 0, ancestry: [], esi: pageEsi, debug: !!debugView, inBand: esi.inBand, assets };
  const body = assembly.kind === 'compiled' ? { ...assembly, page: new CompiledAssembly({ ...assembly, source: session, context }) } : assembly;
  const ifNoneMatch = visitor.request.headers.get('if-none-match');
  // A debug view's body holds this view's timings, and a preview is never the page: neither gets a validator.
  // Nor does an out-of-order view, whose templates' places depend on timing.
  const validates = body.kind === 'compiled' && !body.outOfOrder && page.status === 200 && !debugView && !isPreview(switches);
  // Encoded once: the validator hashes these bytes, and the whole body is made of them.
  const parts = validates ? encoded(await body.page.settledWithin(ifNoneMatch === null ? 0 : route.conditionalMs)) : undefined;
  const etag = parts && body.kind === 'compiled' ? await pageEtag(await routeVersion(route), body.digest, parts) : undefined;
  const unchanged = etag !== undefined && noneMatch(ifNoneMatch, etag) && !lifetime.failure;
  const headers = source.from === 'cache' ? cachedPageHeaders(source.page, page.headers, route, pageEsi) : assembledPageHeaders(page.headers, route, pageEsi);
  for (const cookie of visitor.cookiesToSet()) headers.append('set-cookie', cookie); // a visitor id minted for experiments
  if (etag) headers.set('etag', etag);
  // Every part known before the headers go: a fragment's own ESI that read the visitor makes this view private after all,
  // its 304 as much as its 200 (a page's own ESI variables are declared already).
  if (parts && visitor.readVisitorUnkeyed && !pageEsi) headers.set('cache-control', madePrivate(headers.get('cache-control')));
  const preload = routeAssets?.memory.preload(route, policy, url, headers.get('link'));
  if (preload?.length) headers.append('link', preload.join(', '));
  headers.append('server-timing', serverTiming(originMs, timeline.fragments(), originState, unchanged ? 'not-modified' : undefined));
  debugView?.adjust(headers);
  // A page with forced failures or placements is a preview, never the page.
  if (isPreview(switches)) headers.set('cache-control', 'private, no-store');
  const originNote = originState && (source.from === 'origin' && source.notStored ? `${originState} (not cached: ${source.notStored})` : originState);
  const replayed = assembly.kind === 'streamed' && assembly.replayed ? ` (replayed: ${assembly.replayed})` : '';
  const note = originNote && `${originNote}${replayed}${unchanged ? ', answered 304' : ''}`;
  const report = logTimings ? () => console.log(timingReport(url, originMs, Date.now() - began, timeline.fragments(), trace.traceId, note)) : undefined;
  if (unchanged) {
    lifetime.finish(report);
    return notModified(headers);
  }
  const outOfOrder = assembly.kind === 'streamed' ? assembly.outOfOrder : assembly.outOfOrder?.page;
  /** What goes at the very end, once the markup has: it throws when the page ended early. */
  const end = (): string => {
    lifetime.finish(report);
    // Templates still owed go in at the very end (the pump holds the page's end until each has had a flush point).
    const templates = outOfOrder?.templates(undefined, assets) ?? '';
    // What this page's fragments placed, for the route's next pages (a preview's fallbacks are not the page's).
    if (routeAssets && page.status === 200 && !isPreview(switches)) routeAssets.memory.remember(route.name, assets.placed, routeAssets.waitUntil);
    if (!debugView) return templates;
    const spans = timeline.fragments();
    const { records } = assets;
    return (
      templates + debugView.markup({ url, traceId: trace.traceId, originMs, originState, totalMs: Date.now() - began, route, headers, spans, assets: records })
    );
  };
  // Every part known (a compiled view in document order, its validator computed): the body is written whole.
  if (body.kind === 'compiled' && parts && !lifetime.failure) {
    const bytes = body.page.whole(parts, end());
    if (etag && source.from === 'cache' && !debugView && !isPreview(switches)) {
      wrote?.({ page: source.page, status: page.status, statusText: page.statusText, headers, body: bytes, etag, fragments: timeline.fragments() });
    }
    return new Response(bytes, { status: page.status, statusText: page.statusText, headers });
  }
  const stream =
    body.kind === 'compiled'
      ? body.page.stream({
          atEnd: end,
          failure: () => lifetime.failure,
          clientGone: () => lifetime.end(new PageAborted('client-gone', 'the client went away')),
          signal: lifetime.signal,
        })
      : assembleResponse(
          new Response(body.body),
          session,
          context,
          (document) => {
            const markup = end();
            if (markup) document.append(markup, { html: true });
          },
          outOfOrder,
        ).body;
  return new Response(stream, { status: page.status, statusText: page.statusText, headers });
}

const encoder = new TextEncoder();

function encoded(parts: Piece[][] | undefined): Uint8Array[][] | undefined {
  return parts?.map((pieces) => pieces.map((piece) => (typeof piece === 'string' ? encoder.encode(piece) : piece)));
}
