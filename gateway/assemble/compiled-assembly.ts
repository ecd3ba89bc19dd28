import type { FragmentSource, PlacedFragment } from '../contract/fragment-source';
import { DEBUG_CLOSE, debugOpen } from '../markup/in-band';
import type { Marker } from '../markup/page-compiler';
import { debugWrapped, judgeInclude, type MarkupContext, place } from './assemble';

/**
 * A cached page assembled from its compiled form (markup/page-compiler.ts):
 * the bytes between markers are written as they are, and each marker is
 * rendered by the same rules the assembling rewriter applies (`place`). No
 * rewriter or scanner runs over the page; only fragments that hold markers of
 * their own go through one, as on the streamed path.
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
  source: FragmentSource;
  context: MarkupContext;
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
}

const encoder = new TextEncoder();

export class CompiledAssembly {
  private readonly rendered: Promise<Piece[]>[];

  constructor(private readonly page: CompiledPage) {
    this.rendered = page.markers.map((marker) => render(marker, page.bytes, page.source, page.context));
  }

  /** Each marker's output, in document order, if every one settles within `ms` (0: by the next turn of the event loop). */
  async settledWithin(ms: number): Promise<Piece[][] | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([Promise.all(this.rendered), late]);
    } finally {
      clearTimeout(timer ?? null);
    }
  }

  stream(ends: StreamEnds): ReadableStream<Uint8Array> {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    let reading = true;
    const write = (piece: Piece) =>
      writer.write(typeof piece === 'string' ? encoder.encode(piece) : piece).catch((error) => {
        reading = false;
        throw error;
      });
    const run = async () => {
      const { bytes, markers } = this.page;
      let at = 0;
      for (const [index, marker] of markers.entries()) {
        const range = marker.kind === 'slot' ? marker.inner : marker.tag;
        if (range.start > at) await write(bytes.subarray(at, range.start));
        at = range.end;
        const pieces = await this.rendered[index];
        const failure = ends.failure();
        if (failure) throw failure;
        for (const piece of pieces) if (piece.length) await write(piece);
      }
      if (at < bytes.length) await write(bytes.subarray(at));
      const end = ends.atEnd();
      if (end) await write(end);
      await writer.close();
    };
    run().catch((error) => {
      if (!reading) ends.clientGone();
      void writer.abort(error).catch(() => {});
    });
    return readable;
  }
}

/** One marker's output: what the rewriter's handler for it would have written in its place. */
async function render(marker: Marker, bytes: Uint8Array, source: FragmentSource, context: MarkupContext): Promise<Piece[]> {
  let pieces: Piece[] = [];
  if (marker.kind === 'slot') {
    const inner = bytes.subarray(marker.inner.start, marker.inner.end);
    const placement = source.slot(marker.id, context.depth);
    if (!placement) return [inner]; // Not declared in the manifest: the origin's markup stands.
    await place(placement, source, context, `data-slot="${marker.id}"`, (html, fragment) => {
      if (html !== null) pieces = [debugWrapped(context, fragment, html)];
      else if (context.debug && fragment) pieces = [debugOpen(fragment.key), inner, DEBUG_CLOSE];
      else pieces = [inner];
    });
    return pieces;
  }
  const { include } = marker;
  const placement = source.include(include, context.depth);
  if (!placement) return [];
  await place(placement, source, context, `esi:include src="${include.src}"`, (html, fragment: PlacedFragment | undefined) => {
    if (fragment) judgeInclude(source, include, fragment);
    pieces = [debugWrapped(context, fragment, html ?? '')];
  });
  return pieces;
}
