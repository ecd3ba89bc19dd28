import type { OutOfOrderPage } from '../assemble/out-of-order-page';
import type { ChunkReader } from '../lib/chunk-reader';
import { includeMarker, slotMarker } from '../markup/in-band';
import { MarkupScanner } from '../markup/markup-scanner';
import type { StartedPage } from './start-page';

/**
 * Wires the origin pump: the ESI pass (on an ESI page), then the markup
 * scanner, which reports every marker to the fragment session before the
 * rewriter reaches it and cuts the markup there, and, on an out-of-order
 * page, the flush points put in between chunks. The pump applies all of it
 * and writes into a native stream: no JavaScript stage of its own. Returns
 * the stream the assembler reads.
 */
export function pumpPage(
  started: StartedPage,
  body: ReadableStream<Uint8Array> | ChunkReader,
  outOfOrder: OutOfOrderPage | undefined,
): ReadableStream<Uint8Array> {
  const { session, esi, lifetime } = started;
  const pageEsi = started.esiActive;
  const input = new IdentityTransformStream();
  const { discovery } = session;
  const scanner = new MarkupScanner(
    {
      include: (include) => {
        outOfOrder?.sighted(includeMarker(include));
        return discovery.include(include);
      },
      slot: (id) => {
        outOfOrder?.sighted(slotMarker(id));
        return discovery.slot(id);
      },
      waiting: () => discovery.waiting(),
      inline: discovery.inline,
    },
    pageEsi,
    // On an out-of-order page the scanner follows the open elements, so it knows where a placeholder or a template may go.
    outOfOrder?.elements,
  );
  const esiPass = pageEsi ? esi.stream() : undefined;
  lifetime.pipeOrigin(body, input.writable, {
    pieces: esiPass ? (chunk) => esiPass.transform(chunk).flatMap((piece) => scanner.pieces(piece)) : (chunk) => scanner.pieces(chunk),
    end: () => [...(esiPass ? esiPass.flush().flatMap((piece) => scanner.pieces(piece)) : []), ...scanner.end()],
    interjections: outOfOrder && {
      due: () => outOfOrder.due(),
      take: () => outOfOrder.take(scanner.atSafePoint),
      drain: (signal) => outOfOrder.drain(signal),
    },
  });
  return input.readable;
}
