import type { IncludeAttributes } from '../types';

/**
 * The look-ahead: finds every `<esi:include>` in the origin stream as soon as
 * its bytes arrive and starts its fetch, long before the assembling rewriter —
 * blocked on earlier fragments — gets there.
 *
 * It reads ahead of the rewriter by at most `LOOKAHEAD_BYTES`: the window is a
 * byte-length queue on the readable side of a TransformStream, so the pipe
 * keeps pulling from the origin until the window is full, and no further.
 * Memory stays bounded however large the page (a `tee()` would buffer all of
 * it behind a slow fragment); includes beyond the window start when the
 * rewriter reaches them.
 */
export const LOOKAHEAD_BYTES = 256 * 1024;

type OnInclude = (include: IncludeAttributes) => void;

export function lookAheadWindow(onInclude: OnInclude, bytes = LOOKAHEAD_BYTES): TransformStream<Uint8Array, Uint8Array> {
  const scanner = new TransformStream<Uint8Array, Uint8Array>();
  const writer = scanner.writable.getWriter();
  const scanned = includeScanner(onInclude).transform(new Response(scanner.readable));
  // The scanner's output is discarded; its handlers did the work. A scanner failure only costs early starts.
  void scanned.body?.pipeTo(new WritableStream()).catch(() => {});
  const stop = () => void writer.close().catch(() => {});
  return new TransformStream<Uint8Array, Uint8Array>(
    {
      transform(chunk, controller) {
        void writer.write(chunk).catch(() => {});
        controller.enqueue(chunk);
      },
      flush: stop,
    },
    undefined,
    new ByteLengthQueuingStrategy({ highWaterMark: bytes }),
  );
}

/** The same scan over a fragment that is already in memory (its nested includes). */
export async function scanHtmlIncludes(html: string, onInclude: OnInclude): Promise<void> {
  await includeScanner(onInclude).transform(new Response(html)).arrayBuffer();
}

function includeScanner(onInclude: OnInclude): HTMLRewriter {
  return new HTMLRewriter().on('esi\\:include', {
    element(element) {
      onInclude({ src: element.getAttribute('src'), alt: element.getAttribute('alt'), id: element.getAttribute('id') });
    },
  });
}
