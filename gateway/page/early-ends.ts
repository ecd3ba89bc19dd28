import { errorPage } from '../http/error-page';
import { isHtml, processesEsi } from '../http/headers';
import { passThrough } from '../http/proxy';
import { serverTiming } from '../observe/server-timing';
import type { StartedPage } from './start-page';

/** An origin page to assemble, or the answer the page ended with before its body. */
export type OriginAnswer = { kind: 'assemble'; page: Response; body: ReadableStream<Uint8Array>; originMs: number } | { kind: 'ended'; response: Response };

/**
 * Waits for the origin's answer and gives every answer that comes before an
 * assembled body: origin too slow 504, client gone 499, origin unreachable
 * 502; a non-2xx or non-HTML page passed through untouched; a `required`
 * fragment failed, the route's `onFailure`. Each cancels the fragments.
 */
export async function answerOrigin(started: StartedPage): Promise<OriginAnswer> {
  const { visitor, route, origin, began, lifetime, timeline, session } = started;
  const { pathname } = visitor.url;
  let page: Response;
  try {
    page = await lifetime.originResponse(started.originResponse);
  } catch (error) {
    session.cancel();
    const failure = lifetime.failure;
    lifetime.release();
    if (failure?.cause === 'origin-timeout' || failure?.cause === 'deadline') return ended(errorPage(504, 'The origin server did not answer in time.'));
    if (failure?.cause === 'client-gone') return ended(errorPage(499, 'The client went away.'));
    console.error(`tessera: origin ${origin.origin} unreachable for ${pathname}:`, error);
    return ended(errorPage(502, 'The origin server could not be reached.'));
  }
  const originMs = Date.now() - began;

  const { body } = page;
  if (page.status < 200 || page.status > 299 || !isHtml(page.headers) || !body) {
    session.cancel();
    lifetime.release();
    return ended(passThrough(page));
  }
  started.esiActive = processesEsi(route, page.headers);
  // A form that carried ESI markup, echoed into a page that runs ESI: refused, never run (request/esi-injection.ts).
  if (started.esiActive && started.bodyScan && (await started.bodyScan.found())) {
    await body.cancel();
    session.cancel();
    lifetime.release();
    console.error(`tessera: ${visitor.request.method} ${pathname}: refused, ESI markup in the request's body (ESI injection)`);
    return ended(errorPage(400, 'This request carries ESI markup, which this site does not accept.'));
  }
  session.pageEsiDecided();
  session.prefetchDeclared(); // Started already for a GET; for other methods, now that the answer is a page.

  const required = await session.requiredDelivered();
  // The page may have ended while its required fragments were awaited (deadline, client gone).
  const failed = lifetime.failure;
  if (failed) {
    await body.cancel().catch(() => {});
    session.cancel();
    lifetime.release();
    return ended(errorPage(failed.cause === 'client-gone' ? 499 : 504, failed.cause === 'client-gone' ? 'The client went away.' : 'The page took too long.'));
  }
  // A form's answer stands once the origin has acted on it: a failed required fragment gets its fallback, never an
  // error page that would have the visitor send the form again.
  if (!required.ok && visitor.request.method !== 'GET') {
    console.error(
      `tessera: required fragment failed on ${visitor.request.method} ${pathname}, served with its fallback: ${required.failed.map((r) => r.id).join(', ')}`,
    );
  } else if (!required.ok) {
    await body.cancel();
    session.cancel();
    lifetime.release();
    const names = required.failed.map((r) => r.id).join(', ');
    console.error(`tessera: required fragment failed on ${pathname}: ${required.failed.map((r) => `${r.id} (${r.detail})`).join('; ')}`);
    return ended(
      errorPage(
        route.onFailure.status,
        `A required part of this page (${names}) is unavailable.`,
        { 'server-timing': serverTiming(originMs, timeline.fragments()) },
        route.onFailure.html,
      ),
    );
  }
  return { kind: 'assemble', page, body, originMs };
}

function ended(response: Response): OriginAnswer {
  return { kind: 'ended', response };
}
