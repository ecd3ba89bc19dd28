import type { FragmentSource, PlacedFragment, Placement, TryBlock } from '../contract/fragment-source';
import { type IncludeAttributes, wasFetched } from '../contract/types';
import { assetRel } from '../markup/asset-elements';
import {
  DEBUG_CLOSE,
  debugOpen,
  FLUSH_ELEMENT,
  type InBand,
  includeMarker,
  PLACEHOLDER_END,
  placeholderMarkup,
  placeholderStart,
  slotMarker,
  TRY_ELEMENT,
} from '../markup/in-band';
import { BODY_END, MarkupScanner } from '../markup/markup-scanner';
import { readIncludeAttributes } from '../markup/page-esi';
import type { OutOfOrderPage } from './out-of-order-page';
import type { PageAssets } from './page-assets';

/**
 * The assembling rewriter: it renders every marker, and the markers inside
 * fragments, with content a `FragmentSource` already has in flight. Each
 * marker awaits a fragment that started earlier, so the async handlers here
 * only ever wait for the slowest fragment, not the sum. Everything before the
 * first unsettled marker has already streamed to the client.
 */

/** Where markup sits: the page (depth 0), or inside the fragments named by `ancestry`. */
export interface MarkupContext {
  depth: number;
  /** Keys of the fragments this markup is nested in, to stop a fragment including itself. */
  ancestry: readonly string[];
  /** Whether `<esi:include>` is processed in this markup. */
  esi: boolean;
  /** The debug view: each fragment is wrapped in `<!--tessera:KEY-->…<!--/tessera-->`, which the overlay outlines. */
  debug?: boolean;
  /** The page's in-band instructions: only those this page wrote are obeyed. */
  inBand: InBand;
  /** The page's asset ledger: each fragment's stylesheets and scripts, once per page (page-assets.ts). Absent: fragments go in as they are. */
  assets?: PageAssets;
}

/**
 * The page through the assembling rewriter; `atEnd` runs when its markup
 * ends, and may throw to fail the stream. With `outOfOrder`, fragments that
 * may be placed out of order get a placeholder instead of a wait.
 */
export function assembleResponse(
  page: Response,
  source: FragmentSource,
  context: MarkupContext,
  atEnd?: (end: DocumentEnd) => void,
  outOfOrder?: OutOfOrderPage,
): Response {
  const rewriter = markerRewriter(source, context, outOfOrder, true);
  const { assets } = context;
  if (assets) {
    // The page's own assets, as the rewriter passes them: a fragment after one does not add it again.
    rewriter.on('link[rel][href]', {
      element(element) {
        const rel = assetRel(element.getAttribute('rel'));
        if (rel) assets.own({ rel, href: element.getAttribute('href') ?? '' });
      },
    });
    rewriter.on('script[src]', { element: (element) => assets.own({ rel: 'script', href: element.getAttribute('src') ?? '' }) });
    // The route's declared stylesheets, before `</head>` (page-compiler.ts finds the same place for a cached page).
    rewriter.on('head', {
      element(element) {
        element.onEndTag((end) => {
          const markup = assets.head();
          if (markup) end.before(markup, { html: true });
        });
      },
    });
  }
  return (atEnd ? rewriter.onDocument({ end: (end) => atEnd(end) }) : rewriter).transform(page);
}

/** The same, for a fragment's markup (nested markers). */
export async function assembleHtml(html: string, source: FragmentSource, context: MarkupContext): Promise<string> {
  return markerRewriter(source, context).transform(new Response(html)).text();
}

/**
 * `writesPage`: this rewriter writes the page itself (not a fragment's
 * markup, nor an `<esi:try>` branch that may be thrown away), so what it puts
 * in is final, in page order: the place where asset tokens are decided.
 */
function markerRewriter(source: FragmentSource, context: MarkupContext, outOfOrder?: OutOfOrderPage, writesPage = false): HTMLRewriter {
  const written = writesPage && context.assets ? (html: string) => context.assets?.resolve(html) ?? html : (html: string) => html;
  const rewriter = new HTMLRewriter().on('[data-slot]', {
    element(element) {
      const id = element.getAttribute('data-slot') ?? '';
      // Asked at every marker the scanner saw, so its answers stay in step.
      const sighting = outOfOrder?.mayPlace(slotMarker(id));
      const placement = source.slot(id, context.depth);
      if (!placement) return; // Not declared in the manifest: the origin's markup stands.
      const marker = `data-slot="${id}"`;
      if (outOfOrder && sighting && !placement.ready && placement.outOfOrder) {
        const { placeholder } = placement.outOfOrder;
        // Without a declared placeholder the marker's own content is the placeholder; a fragment that keeps it needs no template.
        const content = deferred(placement.fragment, source, context, marker, (html) => html ?? (placeholder === undefined ? null : ''));
        const name = outOfOrder.placeholder(content, sighting);
        if (placeholder === undefined) {
          element.prepend(placeholderStart(name), { html: true });
          element.append(PLACEHOLDER_END, { html: true });
        } else element.setInnerContent(placeholderMarkup(name, placeholder), { html: true });
        return;
      }
      return place(placement, source, context, marker, (html, fragment) => {
        if (html !== null) element.setInnerContent(written(debugWrapped(context, fragment, html)), { html: true });
        else if (context.debug && fragment) {
          element.prepend(debugOpen(fragment.key), { html: true });
          element.append(DEBUG_CLOSE, { html: true });
        }
      });
    },
  });
  if (outOfOrder) {
    rewriter.on(FLUSH_ELEMENT, {
      element(element) {
        const flush = context.inBand.read(FLUSH_ELEMENT, element);
        if (flush?.kind !== 'flush') return; // Not ours: the page's own markup stands.
        if (flush.at === 'body-end') outOfOrder.reachedBodyEnd();
        element.replace(outOfOrder.templates(flush.at === 'named' ? flush.names : undefined, context.assets), { html: true });
      },
    });
  }
  if (!context.esi) return rewriter;
  return rewriter
    .on('esi\\:include', {
      element(element) {
        const include = readIncludeAttributes((name) => element.getAttribute(name));
        const sighting = outOfOrder?.mayPlace(includeMarker(include));
        const placement = source.include(include, context.depth);
        if (!placement) return void element.remove();
        const marker = `esi:include src="${include.src}"`;
        const judge = (fragment: PlacedFragment) => judgeInclude(source, include, fragment);
        if (outOfOrder && sighting && !placement.ready && placement.outOfOrder) {
          const { placeholder, fallbackHtml } = placement.outOfOrder;
          const content = deferred(placement.fragment, source, context, marker, (html, fragment) => {
            judge(fragment);
            return html ?? '';
          });
          element.replace(placeholderMarkup(outOfOrder.placeholder(content, sighting), placeholder ?? fallbackHtml ?? ''), { html: true });
          return;
        }
        return place(placement, source, context, marker, (html, fragment) => {
          if (fragment) judge(fragment);
          element.replace(written(debugWrapped(context, fragment, html ?? '')), { html: true });
        });
      },
    })
    .on(TRY_ELEMENT, {
      element(element) {
        const instruction = context.inBand.read(TRY_ELEMENT, element);
        if (instruction?.kind !== 'try') return; // Not ours: the page's own markup stands.
        const block = source.tryBlock(instruction.index);
        if (!block) return void element.remove();
        return settle(renderTry(block, source, context), '', 'esi:try').then((html) => void element.replace(written(html), { html: true }));
      },
    })
    .on('esi\\:remove', { element: (element) => void element.remove() })
    .on('esi\\:comment', { element: (element) => void element.remove() });
}

/** In place or out of order, a failed include is the route's to judge (esiErrors). */
export function judgeInclude(source: FragmentSource, include: IncludeAttributes, fragment: PlacedFragment): void {
  if (include.onerror !== 'continue' && !wasFetched(fragment.result)) source.includeFailed(include, fragment);
}

/**
 * Renders a marker's fragment: synchronously when it has settled and holds no
 * markers of its own, otherwise by suspending the rewriter until it has.
 */
export function place(
  placement: Placement,
  source: FragmentSource,
  context: MarkupContext,
  marker: string,
  apply: (html: string | null, fragment: PlacedFragment | undefined) => void,
): Promise<void> | undefined {
  if (placement.ready) {
    const { fragment } = placement;
    const rendered = renderSettled(fragment, source, context);
    if (!(rendered instanceof Promise)) return void apply(rendered, fragment);
    return settle(rendered, null, marker).then((html) => apply(html, fragment));
  }
  return settle(
    placement.fragment.then(async (fragment) => ({ fragment, html: await renderSettled(fragment, source, context) })),
    null,
    marker,
  ).then((rendered) => apply(rendered?.html ?? null, rendered?.fragment));
}

/**
 * An out-of-order fragment's template content, once it has settled and its
 * own markers are filled: `finish` turns the rendered markup (`null` keeps
 * the marker's content) into the template's, or `null` for no template.
 */
export function deferred(
  fragment: Promise<PlacedFragment>,
  source: FragmentSource,
  context: MarkupContext,
  marker: string,
  finish: (html: string | null, fragment: PlacedFragment) => string | null,
): Promise<string | null> {
  return settle(
    fragment.then(async (settled) => {
      const html = finish(await renderSettled(settled, source, context), settled);
      return html === null ? null : debugWrapped(context, settled, html);
    }),
    null,
    marker,
  );
}

/**
 * `<esi:try>`: the attempt, unless one of its includes failed (with no
 * `onerror="continue"`), in which case the except. The except's includes are
 * fetched only then; a failure inside the attempt never fails the page.
 */
async function renderTry(block: TryBlock, source: FragmentSource, context: MarkupContext): Promise<string> {
  let failed = false;
  const attemptSource: FragmentSource = {
    maxDepth: source.maxDepth,
    slot: (id, depth) => source.slot(id, depth),
    include: (include, depth) => source.include(include, depth),
    esiInside: (fragment) => source.esiInside(fragment),
    esiMarkup: (fragment) => source.esiMarkup(fragment),
    tryBlock: (index) => source.tryBlock(index),
    includeFailed: () => {
      failed = true;
    },
    inline: (include) => source.inline(include),
  };
  const attempt = await assembleHtml(block.attempt, attemptSource, context);
  return failed ? assembleHtml(block.except, source, context) : attempt;
}

/** A fragment's markup with its own markers filled; `null` keeps the marker's content. */
function renderSettled(fragment: PlacedFragment, source: FragmentSource, context: MarkupContext): string | null | Promise<string | null> {
  if (context.ancestry.includes(fragment.key)) return ''; // A fragment including itself, directly or not.
  const { html } = fragment.result;
  const depth = context.depth + 1;
  if (html === null || !wasFetched(fragment.result)) return html;
  // Its assets become tokens, decided when the page is written (page-assets.ts); a static fallback has none.
  const dressed = (markup: string) => context.assets?.dress(fragment, markup) ?? markup;
  if (!mayContainMarkers(html)) return dressed(html);
  const esi = source.esiInside(fragment);
  // Past the depth limit includes render nothing, as in ESI engines: a browser never gets a raw ESI tag.
  if (depth > source.maxDepth) return dressed(esi ? withoutIncludes(source.esiMarkup(fragment)) : html);
  const nested = { ...context, depth, ancestry: [...context.ancestry, fragment.key], esi };
  if (!esi) return assembleHtml(dressed(html), source, nested);
  const markup = dressed(source.esiMarkup(fragment));
  return /<(script|style|title|textarea)\b/i.test(markup)
    ? inlineRawText(markup, source).then((filled) => assembleHtml(filled, source, nested))
    : assembleHtml(markup, source, nested);
}

/** Includes inside a fragment's scripts and styles, which the rewriter cannot see, filled as the page's are. */
async function inlineRawText(html: string, source: FragmentSource): Promise<string> {
  const scanner = new MarkupScanner({ include: () => false, slot: () => false, waiting: () => true, inline: (include) => source.inline(include) }, true);
  const pieces = await Promise.all(scanner.pieces(new TextEncoder().encode(html)).filter((piece) => piece !== BODY_END));
  const decoder = new TextDecoder();
  return pieces.map((piece) => decoder.decode(piece, { stream: true })).join('') + decoder.decode();
}

export function debugWrapped(context: MarkupContext, fragment: PlacedFragment | undefined, html: string): string {
  return context.debug && fragment ? `${debugOpen(fragment.key)}${html}${DEBUG_CLOSE}` : html;
}

function withoutIncludes(html: string): string {
  return html.replace(/<esi:include\b[^>]*>/gi, '');
}

/** Cheap pre-check so plain fragments skip a second rewriter pass. */
function mayContainMarkers(html: string): boolean {
  return html.includes('<esi:') || html.includes('<!--esi') || html.includes('data-slot');
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
