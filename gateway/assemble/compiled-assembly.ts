import type { FragmentSource, PlacedFragment } from '../contract/fragment-source';
import { concatBytes } from '../lib/concat-bytes';
import { type AssetElement, findAssetElements } from '../markup/asset-elements';
import { DEBUG_CLOSE, debugOpen, includeMarker, PLACEHOLDER_END, placeholderMarkup, placeholderStart, slotMarker } from '../markup/in-band';
import type { Marker, OutOfOrderMap } from '../markup/page-compiler';
import { debugWrapped, deferred, judgeInclude, type MarkupContext, place } from './assemble';
import type { OutOfOrderPage } from './out-of-order-page';

/**
 * A cached page assembled from its compiled form (markup/page-compiler.ts):
 * the bytes between markers are written as they are, and each marker is
 * rendered by the same rules the assembling rewriter applies (`place`, and
 * on an out-of-order view its placeholders and templates). No rewriter or
 * scanner runs over the page; only fragments that hold markers of their own
 * go through one, as on the streamed path.
 *
 * Every marker starts rendering at once, in document order (each only awaits
 * its fragment, already in flight), and the stream writes them in order. So
 * the page can also wait, within a budget, until every part is known
 * (`settledWithin`): then its whole body, and so its validator, is known
 * before the headers go out.
 */
export interface CompiledPage {
  bytes: Uint8Array;
  markers: readonly Marker[];
  /** Where `</head>` starts, if the page has one: the route's declared stylesheets go there (page-assets.ts `head`). */
  headEnd?: number;
  source: FragmentSource;
  context: MarkupContext;
  /** An out-of-order view: the page's placeholders and templates, and where the compiled form says things stand. */
  outOfOrder?: { page: OutOfOrderPage; map: OutOfOrderMap };
}

/** What goes into the body between static runs: rendered markup, or the page's own bytes (a slot's content kept). */
export type Piece = Uint8Array | string;

export interface StreamEnds {
  /** Markup for the page's very end (templates, the debug overlay); it throws when the page ended early, which fails the stream. */
  atEnd: () => string;
  /** Why the page ended early, if it did: the stream fails with it. */
  failure: () => unknown;
  /** The client stopped reading. */
  clientGone: () => void;
  /** The page's signal: holding the end for templates stops when it aborts. */
  signal: AbortSignal;
}

const encoder = new TextEncoder();
const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextDecoder();

/** A cached page's own asset elements, outside its markers: found once per compiled page and isolate. */
const ownElements = new WeakMap<Uint8Array, AssetElement[]>();

export class CompiledAssembly {
  private readonly rendered: Promise<Piece[]>[] = [];
  /** Each marker's output with its asset tokens decided (page-assets.ts), made in document order, once. */
  private readonly written: Piece[][] = [];
  /** The page's own asset elements told to the ledger so far. */
  private ownTold = 0;
  /** What goes before `</head>`, decided once, in its place in the page's order. */
  private headMarkup: string | undefined;
  /** Whether the head's markup has gone out in a static run. */
  private headPlaced = false;

  constructor(private readonly page: CompiledPage) {
    const { markers, outOfOrder } = page;
    if (outOfOrder) {
      // Where each marker stands, as the scanner would report it on its way through the page.
      for (const [i, marker] of markers.entries()) outOfOrder.page.sightedAt(markerKey(marker), outOfOrder.map.sightings[i]);
    } else {
      // In document order the whole page may be awaited before its headers; out of order, each marker is rendered when
      // the stream reaches it, as the rewriter would (a placeholder decided then, its template only ever after it).
      for (let i = 0; i < markers.length; i++) void this.render(i);
    }
  }

  private render(index: number): Promise<Piece[]> {
    this.rendered[index] ??= render(this.page.markers[index], this.page, this.page.outOfOrder?.page);
    return this.rendered[index];
  }

  /** Each marker's output, in document order, if every one settles within `ms` (0: by the next turn of the event loop). */
  async settledWithin(ms: number): Promise<Piece[][] | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      const parts = await Promise.race([Promise.all(this.page.markers.map((_, i) => this.render(i))), late]);
      return parts?.map((pieces, i) => this.decided(i, pieces));
    } finally {
      clearTimeout(timer ?? null);
    }
  }

  /**
   * The whole body at once, from every marker's output (`settledWithin`) and
   * the page's end markup: one array, written in one piece, with no stream to
   * pump. Only in document order (an out-of-order view streams).
   */
  whole(parts: readonly (readonly Piece[])[], end: string): Uint8Array {
    const { bytes, markers } = this.page;
    const chunks: Uint8Array[] = [];
    let at = 0;
    const push = (piece: Piece) => {
      if (piece.length) chunks.push(typeof piece === 'string' ? encoder.encode(piece) : piece);
    };
    for (const [index, marker] of markers.entries()) {
      const range = marker.kind === 'slot' ? marker.inner : marker.tag;
      for (const piece of this.staticRun(at, range.start)) push(piece);
      for (const piece of parts[index]) push(piece);
      at = range.end;
    }
    for (const piece of this.staticRun(at, bytes.length)) push(piece);
    if (end) chunks.push(encoder.encode(end));
    return concatBytes(chunks);
  }

  stream(ends: StreamEnds): ReadableStream<Uint8Array> {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    let reading = true;
    /** Writes a piece, unless the page has ended early: then nothing more goes out, and the stream fails with it. */
    const write = async (piece: Piece) => {
      const failure = ends.failure();
      if (failure) throw failure;
      if (piece.length === 0) return;
      await writer.write(typeof piece === 'string' ? encoder.encode(piece) : piece).catch((error) => {
        reading = false;
        throw error;
      });
    };
    const { bytes, markers, outOfOrder } = this.page;
    const points = new Map(outOfOrder?.map.points.map((point) => [point.at, point]));
    let bodyEndHeld = !outOfOrder;
    let at = 0;
    /** Templates that are ready and may go in at this edge of a marker. */
    const { assets } = this.page.context;
    const flushAt = async (position: number) => {
      const point = points.get(position);
      if (!outOfOrder || !point) return;
      const names = outOfOrder.page.takeAt(point.safe, point.current);
      this.ownUpTo(position);
      if (names.length) await write(outOfOrder.page.templates(names, assets));
    };
    /** Before `</body>`: every template as it becomes ready, until none is owed (the pump's hold). */
    const holdBodyEnd = async () => {
      bodyEndHeld = true;
      if (!outOfOrder) return;
      for await (const instruction of outOfOrder.page.drainInstructions(ends.signal)) {
        if (instruction.kind !== 'flush') continue;
        if (instruction.at === 'body-end') outOfOrder.page.reachedBodyEnd();
        this.ownUpTo(at);
        await write(outOfOrder.page.templates(instruction.at === 'named' ? instruction.names : undefined, assets));
      }
    };
    const writeRun = async (from: number, to: number) => {
      for (const piece of this.staticRun(from, to)) await write(piece);
    };
    const writeStatic = async (to: number) => {
      const bodyEnd = outOfOrder?.map.bodyEnd ?? bytes.length;
      if (!bodyEndHeld && bodyEnd <= to) {
        if (bodyEnd > at) await writeRun(at, bodyEnd);
        at = Math.max(at, bodyEnd);
        await holdBodyEnd();
      }
      if (to > at) await writeRun(at, to);
      at = Math.max(at, to);
    };
    const run = async () => {
      for (const [index, marker] of markers.entries()) {
        const range = marker.kind === 'slot' ? marker.inner : marker.tag;
        await writeStatic(range.start);
        await flushAt(range.start);
        for (const piece of this.decided(index, await this.render(index))) await write(piece);
        at = range.end;
        await flushAt(range.end);
      }
      await writeStatic(bytes.length);
      if (!bodyEndHeld) await holdBodyEnd();
      const failure = ends.failure();
      if (failure) throw failure;
      await write(ends.atEnd());
      await writer.close();
    };
    run().catch((error) => {
      if (!reading) ends.clientGone();
      void writer.abort(error).catch(() => {});
    });
    return readable;
  }

  /**
   * A marker's output as it is written: its asset tokens decided in document
   * order, with the page's own asset elements before it known (as the
   * rewriter passes them on a streamed page). Asked in document order.
   */
  private decided(index: number, pieces: Piece[]): Piece[] {
    const { assets } = this.page.context;
    if (!assets) return pieces;
    const marker = this.page.markers[index];
    // A marker after `</head>`: the head's stylesheets are claimed first, as the rewriter reaches `</head>` first.
    if (this.page.headEnd !== undefined && (marker.kind === 'slot' ? marker.inner.start : marker.tag.start) >= this.page.headEnd) this.head();
    this.written[index] ??= pieces.map((piece) => {
      if (typeof piece !== 'string' || !assets.holdsTokens(piece)) return piece;
      const marker = this.page.markers[index];
      this.ownUpTo(marker.kind === 'slot' ? marker.inner.start : marker.tag.start);
      return assets.resolve(piece);
    });
    return this.written[index];
  }

  /** The markup that goes before `</head>` (the page's own head elements told to the ledger first), decided once. */
  private head(): string {
    const { assets } = this.page.context;
    const { headEnd } = this.page;
    if (this.headMarkup === undefined) {
      if (assets && headEnd !== undefined) this.ownUpTo(headEnd);
      this.headMarkup = assets && headEnd !== undefined ? assets.head() : '';
    }
    return this.headMarkup;
  }

  /** The page's bytes from `from` to `to`, with the head's markup in its place if `</head>` falls there. */
  private staticRun(from: number, to: number): Piece[] {
    const { bytes, headEnd } = this.page;
    if (headEnd === undefined || headEnd < from || headEnd > to || this.headPlaced) return [bytes.subarray(from, to)];
    this.headPlaced = true;
    return [bytes.subarray(from, headEnd), this.head(), bytes.subarray(headEnd, to)];
  }

  /** Tells the ledger the page's own asset elements that start before `position`, outside the markers. */
  private ownUpTo(position: number): void {
    const { bytes, markers } = this.page;
    const { assets } = this.page.context;
    if (!assets) return;
    let own = ownElements.get(bytes);
    if (!own) {
      const found = findAssetElements(LATIN1.decode(bytes), (start, end) => UTF8.decode(bytes.subarray(start, end)));
      const ranges = markers.map((marker) => (marker.kind === 'slot' ? marker.inner : marker.tag));
      own = found.filter((element) => !ranges.some((range) => range.start <= element.start && element.start < range.end));
      ownElements.set(bytes, own);
    }
    while (this.ownTold < own.length && own[this.ownTold].start < position) assets.own(own[this.ownTold++]);
  }
}

function markerKey(marker: Marker): string {
  return marker.kind === 'slot' ? slotMarker(marker.id) : includeMarker(marker.include);
}

/** One marker's output: what the rewriter's handler for it would have written in its place. */
async function render(marker: Marker, page: CompiledPage, outOfOrder: OutOfOrderPage | undefined): Promise<Piece[]> {
  const { bytes, source, context } = page;
  // Asked at every marker, in document order, so the answers stay in step (as the rewriter's handlers do).
  const sighting = outOfOrder?.mayPlace(markerKey(marker));
  let pieces: Piece[] = [];
  if (marker.kind === 'slot') {
    const inner = bytes.subarray(marker.inner.start, marker.inner.end);
    const placement = source.slot(marker.id, context.depth);
    if (!placement) return [inner]; // Not declared in the manifest: the origin's markup stands.
    const label = `data-slot="${marker.id}"`;
    if (outOfOrder && sighting && !placement.ready && placement.outOfOrder) {
      const { placeholder } = placement.outOfOrder;
      // Without a declared placeholder the marker's own content is the placeholder; a fragment that keeps it needs no template.
      const content = deferred(placement.fragment, source, context, label, (html) => html ?? (placeholder === undefined ? null : ''));
      const name = outOfOrder.placeholder(content, sighting);
      return placeholder === undefined ? [placeholderStart(name), inner, PLACEHOLDER_END] : [placeholderMarkup(name, placeholder)];
    }
    await place(placement, source, context, label, (html, fragment) => {
      if (html !== null) pieces = [debugWrapped(context, fragment, html)];
      else if (context.debug && fragment) pieces = [debugOpen(fragment.key), inner, DEBUG_CLOSE];
      else pieces = [inner];
    });
    return pieces;
  }
  const { include } = marker;
  const placement = source.include(include, context.depth);
  if (!placement) return [];
  const label = `esi:include src="${include.src}"`;
  if (outOfOrder && sighting && !placement.ready && placement.outOfOrder) {
    const { placeholder, fallbackHtml } = placement.outOfOrder;
    const content = deferred(placement.fragment, source, context, label, (html, fragment) => {
      judgeInclude(source, include, fragment);
      return html ?? '';
    });
    return [placeholderMarkup(outOfOrder.placeholder(content, sighting), placeholder ?? fallbackHtml ?? '')];
  }
  await place(placement, source, context, label, (html, fragment: PlacedFragment | undefined) => {
    if (fragment) judgeInclude(source, include, fragment);
    pieces = [debugWrapped(context, fragment, html ?? '')];
  });
  return pieces;
}
