import type { RouteTimeouts } from '../types';
import { type ChunkReader, chunkReader } from './chunk-reader';
import { WriteWindow } from './write-window';

/**
 * How far the origin pump may read ahead of the assembling rewriter, so that
 * the markup scanner starts fetches for includes further down the page.
 */
export const LOOKAHEAD_BYTES = 256 * 1024;

/**
 * One assembled page from request to last byte. Every fetch the page makes,
 * the origin's and each fragment's, hangs off `signal`, which aborts when the
 * client goes away, the origin stalls or breaks, or the page deadline passes.
 *
 * A page that ends early must never look complete. `HTMLRewriter` ends its
 * output cleanly when its input errors, so the failure is carried on the side:
 * `deliver` errors the client stream whenever the page ended with a failure.
 * (workerd then still writes a clean chunked end — workerd#6818 — but a client
 * reading the Worker's stream directly, and any runtime that resets on a stream
 * error, sees the failure.)
 */
export type PageEnd = 'client-gone' | 'origin-timeout' | 'origin-idle' | 'origin-broken' | 'deadline' | 'assembly-failed';

export class PageAborted extends Error {
  constructor(
    readonly cause: PageEnd,
    message: string,
  ) {
    super(message);
    this.name = 'PageAborted';
  }
}

export class PageLifetime {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  private readonly deadline: ReturnType<typeof setTimeout>;

  constructor(
    private readonly timeouts: RouteTimeouts,
    private readonly label: string,
    clientSignal?: AbortSignal,
  ) {
    this.deadline = setTimeout(() => this.end(new PageAborted('deadline', `page took longer than its ${timeouts.pageMs}ms deadline`)), timeouts.pageMs);
    clientSignal?.addEventListener('abort', () => this.end(new PageAborted('client-gone', 'the client went away')), { once: true });
  }

  /** Why the page ended early, if it did. */
  get failure(): PageAborted | undefined {
    return this.signal.aborted ? (this.signal.reason as PageAborted) : undefined;
  }

  /** Ends the page early: every fetch in flight is aborted. The first reason wins. */
  end(reason: PageAborted): void {
    if (this.signal.aborted) return;
    clearTimeout(this.deadline);
    if (reason.cause !== 'client-gone') console.error(`tessera: ${this.label}: ${reason.message}`);
    this.controller.abort(reason);
  }

  /** The page finished normally (or was handed on untouched): nothing may cut it off any more. */
  release(): void {
    clearTimeout(this.deadline);
  }

  /** The origin's response headers, within the route's origin timeout. */
  async originResponse(pending: Promise<Response>): Promise<Response> {
    const timer = setTimeout(
      () => this.end(new PageAborted('origin-timeout', `origin sent no response headers within ${this.timeouts.originMs}ms`)),
      this.timeouts.originMs,
    );
    try {
      return await pending;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Pumps the origin body into the first stage of assembly, noting every
   * chunk: a body silent for longer than the idle timeout ends the page, and
   * so does one that breaks. The stage is closed, never errored, either way:
   * the rewriter after it would end cleanly on an error anyway (and report it
   * as unhandled); `deliver` is what fails the client stream. When the page
   * ends early the origin read is cancelled, which stops the download.
   */
  pipeOrigin(body: ReadableStream<Uint8Array>, stage: WritableStream<Uint8Array>, pieces: (chunk: Uint8Array) => Iterable<Uint8Array>): void {
    const reader = chunkReader(body);
    const writer = new WriteWindow(stage.getWriter(), LOOKAHEAD_BYTES);
    const idleMs = this.timeouts.originIdleMs;
    let bytes = 0;
    let lastChunkAt = Date.now();
    const checkIdle = () => {
      const silent = Date.now() - lastChunkAt;
      if (silent < idleMs) {
        idle = setTimeout(checkIdle, idleMs - silent);
        return;
      }
      this.end(new PageAborted('origin-idle', `origin body stalled for ${idleMs}ms after ${bytes} bytes`));
    };
    let idle = setTimeout(checkIdle, idleMs);
    this.signal.addEventListener('abort', () => void reader.cancel(this.failure).catch(() => {}));
    const pump = async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done || this.failure) return;
          bytes += value.byteLength;
          lastChunkAt = Date.now();
          for (const piece of pieces(value)) await writer.write(piece);
        }
      } catch (error) {
        if (!this.failure)
          this.end(new PageAborted('origin-broken', `origin body broke after ${bytes} bytes: ${error instanceof Error ? error.message : String(error)}`));
      } finally {
        clearTimeout(idle);
        void writer.close().catch(() => {});
      }
    };
    void pump();
  }

  /**
   * The body the client receives. It errors as soon as the page ends with a
   * failure, and a client that stops reading ends the page (and so every
   * fetch). `done` runs after a page that completed. (A native pipe would
   * save this stage's per-chunk cost, but workerd does not implement pipeTo
   * between the rewriter's output and another internal stream.)
   */
  deliver(body: ReadableStream<Uint8Array>, done?: () => void): ReadableStream<Uint8Array> {
    const reader = chunkReader(body);
    let finished = false;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.signal.addEventListener('abort', () => {
          if (finished) return;
          controller.error(this.failure);
          void drain(reader);
        });
      },
      pull: async (controller) => {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          // Only an unexpected failure inside assembly gets here; fragment failures fall back.
          this.end(new PageAborted('assembly-failed', `assembly failed: ${error instanceof Error ? error.message : String(error)}`));
          return;
        }
        if (this.failure) return;
        if (chunk.done) {
          finished = true;
          this.release();
          controller.close();
          done?.();
          return;
        }
        controller.enqueue(chunk.value);
      },
      cancel: () => {
        this.end(new PageAborted('client-gone', 'the client went away'));
      },
    });
  }
}

/**
 * Reads what the rewriter still produces after the page ended, and drops it.
 * With the origin side closed, it finishes at once; cancelling it instead
 * makes workerd report the cancellation as an unhandled rejection.
 */
async function drain(reader: ChunkReader): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // Already failed: nothing left to release.
  }
}
