import type { FragmentSession, IncludeAttributes, MarkupContext } from './fragment-session';

/**
 * The assembling rewriter. Each marker awaits a fragment that is already in
 * flight (the session started it earlier), so the async handlers here only
 * ever wait for the slowest fragment, not the sum. Everything before the first
 * unsettled marker has already streamed to the client.
 */
export function assembleResponse(page: Response, session: FragmentSession, context: MarkupContext): Response {
  return markerRewriter(session, context).transform(page);
}

/** The same, for a fragment's markup (nested markers). */
export async function assembleHtml(html: string, session: FragmentSession, context: MarkupContext): Promise<string> {
  return markerRewriter(session, context).transform(new Response(html)).text();
}

function markerRewriter(session: FragmentSession, context: MarkupContext): HTMLRewriter {
  const rewriter = new HTMLRewriter().on('[data-slot]', {
    async element(element) {
      const id = element.getAttribute('data-slot') ?? '';
      const content = session.slot(id, context);
      if (!content) return; // Not declared in the manifest: the origin's markup stands.
      const html = await settle(content, null, `data-slot="${id}"`);
      if (html !== null) element.setInnerContent(html, { html: true });
    },
  });
  if (!context.esi) return rewriter;
  return rewriter
    .on('esi\\:include', {
      async element(element) {
        const include = includeAttributes(element);
        element.replace(await settle(session.include(include, context), '', `esi:include src="${include.src}"`), { html: true });
      },
    })
    .on('esi\\:remove', { element: (element) => void element.remove() })
    .on('esi\\:comment', { element: (element) => void element.remove() });
}

/**
 * An exception escaping a handler would abort the whole stream and cut the
 * page off; the marker falls back instead.
 */
async function settle<T>(content: Promise<T>, fallback: T, marker: string): Promise<T> {
  try {
    return await content;
  } catch (error) {
    console.error(`tessera: ${marker} failed unexpectedly; rendering its fallback:`, error);
    return fallback;
  }
}

function includeAttributes(element: Element): IncludeAttributes {
  return { src: element.getAttribute('src'), alt: element.getAttribute('alt'), id: element.getAttribute('id') };
}
