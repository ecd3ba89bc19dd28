import { errorPage } from '../http/error-page';
import { isHtml, processesEsi } from '../http/headers';
import { passThrough } from '../http/proxy';
import type { ChunkReader } from '../lib/chunk-reader';
import { serverTiming } from '../observe/server-timing';
import { originHead } from '../page-cache/cached-page';
import { OriginTimeout, type PageOrigin } from '../page-cache/page-cache';
import { ESI_INJECTION_REFUSAL } from '../request/esi-injection';
import type { StartedPage } from './start-page';

/** An origin page to assemble, or the answer the page ended with before its body. */
export type OriginAnswer =
  /** `body`: the origin's, to stream (as the page cache reads it, on a miss it stores); `null` for a cached page, whose bytes are in `source`. */
  | { kind: 'assemble'; page: Response; body: ReadableStream<Uint8Array> | ChunkReader | null; originMs: number; source: PageOrigin }
  | { kind: 'ended'; response: Response };

/**
 * Waits for the origin's answer and gives every answer that comes before an
 * assembled body: origin too slow 504, client gone 499, origin unreachable
 * 502; a non-2xx or non-HTML page passed through untouched; a `required`
 * fragment failed, the route's `onFailure`. Each cancels the fragments.
 */
export async function answerOrigin(started: StartedPage): Promise<OriginAnswer> {
  const { visitor, route, origin, began, lifetime, timeline, session } = started;
  const { pathname } = visitor.url;
  /** The page ends before assembly: nothing more is fetched or read for it. */
  const ending = async (response: Response, body?: ReadableStream | ChunkReader | null): Promise<OriginAnswer> => {
    await body?.cancel().catch(() => {});
    session.cancel();
    lifetime.release();
    return ended(response);
  };
  let source: PageOrigin;
  try {
    // A view that waits on another's miss gets the stored page, after the whole body: bounded by the page's own deadline.
    source = await lifetime.originResponse(started.originPage, started.pageCached ? started.route.timeouts.pageMs : 0);
  } catch (error) {
    const failure = lifetime.failure;
    if (error instanceof OriginTimeout || failure?.cause === 'origin-timeout' || failure?.cause === 'deadline')
      return ending(errorPage(504, 'The origin server did not answer in time.'));
    if (failure?.cause === 'client-gone') return ending(errorPage(499, 'The client went away.'));
    console.error(`tessera: origin ${origin.origin} unreachable for ${pathname}:`, error);
    return ending(errorPage(502, 'The origin server could not be reached.'));
  }
  const originMs = Date.now() - began;
  const page = source.from === 'origin' ? source.response : originHead(source.page);
  // A miss the page cache stores hands over the body it reads for its copy; the response's own is that reader's.
  const body = source.from === 'origin' && source.body ? source.body : page.body;
  if (page.status < 200 || page.status > 299 || !isHtml(page.headers) || (source.from === 'origin' && !body)) return ending(passThrough(page));
  started.esiActive = processesEsi(route, page.headers);
  // A form that carried ESI markup, echoed into a page that runs ESI: refused, never run (request/esi-injection.ts).
  if (started.esiActive && started.bodyScan && (await started.bodyScan.found())) {
    console.error(`tessera: ${visitor.request.method} ${pathname}: refused, ESI markup in the request's body (ESI injection)`);
    return ending(errorPage(400, ESI_INJECTION_REFUSAL), body);
  }
  session.pageEsiDecided();
  session.prefetchDeclared(); // Started already for a GET; for other methods, now that the answer is a page.

  const required = await session.requiredDelivered();
  // The page may have ended while its required fragments were awaited (deadline, client gone).
  const failed = lifetime.failure;
  if (failed) {
    const page = failed.cause === 'client-gone' ? errorPage(499, 'The client went away.') : errorPage(504, 'The page took too long.');
    return ending(page, body);
  }
  // A form's answer stands once the origin has acted on it: a failed required fragment gets its fallback, never an
  // error page that would have the visitor send the form again.
  if (!required.ok && visitor.request.method !== 'GET') {
    console.error(
      `tessera: required fragment failed on ${visitor.request.method} ${pathname}, served with its fallback: ${required.failed.map((r) => r.id).join(', ')}`,
    );
  } else if (!required.ok) {
    const names = required.failed.map((r) => r.id).join(', ');
    console.error(`tessera: required fragment failed on ${pathname}: ${required.failed.map((r) => `${r.id} (${r.detail})`).join('; ')}`);
    const timing = { 'server-timing': serverTiming(originMs, timeline.fragments(), started.pageCached ? source.state : undefined) };
    return ending(errorPage(route.onFailure.status, `A required part of this page (${names}) is unavailable.`, timing, route.onFailure.html), body);
  }
  return { kind: 'assemble', page, body, originMs, source };
}

function ended(response: Response): OriginAnswer {
  return { kind: 'ended', response };
}
