import type { RouteTimeouts } from '../contract/types';
import { type ChunkReader, chunkReader } from '../lib/chunk-reader';
import { BODY_END, type Piece } from '../markup/markup-scanner';
import { WriteWindow } from './write-window';

/** What the origin pump does to the bytes on their way to the rewriter (the ESI pass, the markup scanner). */
export interface OriginPass {
  /** Bytes, or bytes still to come (an include inlined into a script), written in this order; BODY_END is where `</body>` follows. */
  pieces(chunk: Uint8Array): Iterable<Piece>;
  /** Whatever the pass still holds when the origin body ends. */
  end(): Iterable<Piece>;
  /** An out-of-order page: markup the pass puts in between origin chunks, and before the page's end. */
  interjections?: Interjections;
}

export interface Interjections {
  /** Resolves when there may be something to put in. */
  due(): Promise<void>;
  /** Bytes to put in now, between two origin chunks, if any. */
  take(): Uint8Array | undefined;
  /** Before `</body>` (or the end of the page): bytes to put in as they come, until nothing is owed. */
  drain(signal: AbortSignal): AsyncIterable<Uint8Array>;
}

type ReadOutcome = { ok: true; result: ReadableStreamReadResult<Uint8Array> } | { ok: false; error: unknown };

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
 * A page that ends early must never look complete. While the origin is still
 * being pumped, the page's end aborts the rewriter's input with the failure,
 * and the rewriter errors the client stream with it (once the handler it is
 * in has returned). A failure after the origin's body was all written (a
 * deadline, an include under `esiErrors: fail` judged late) is raised by
 * `finish`, which throws in the rewriter's end handler: that errors the
 * client stream too, but workerd logs it as an uncaught exception, so it is
 * the last resort. (workerd then still writes a clean chunked end —
 * workerd#6818 — but a client reading the Worker's stream directly, and any
 * runtime that resets on a stream error, sees the failure.)
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

  /** The origin's response headers, within the route's origin timeout (plus `graceMs`, where another bound comes first). */
  async originResponse<T>(pending: Promise<T>, graceMs = 0): Promise<T> {
    const timer = setTimeout(
      () => this.end(new PageAborted('origin-timeout', `origin sent no response headers within ${this.timeouts.originMs}ms`)),
      this.timeouts.originMs + graceMs,
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
   * so does one that breaks. When the page ends early the origin read is
   * cancelled, which stops the download, and the stage is aborted with the
   * failure, which the rewriter passes on to the client stream (with no
   * uncaught exception: throwing from a rewriter handler would log one).
   * When the stage is cancelled (the client stopped reading), the page ends.
   */
  pipeOrigin(body: ReadableStream<Uint8Array> | ChunkReader, stage: WritableStream<Uint8Array>, pass: OriginPass): void {
    // A body the page cache reads for its copy comes as that reader (lib/body-copy.ts).
    const reader = body instanceof ReadableStream ? chunkReader(body) : body;
    const clientGone = () => this.end(new PageAborted('client-gone', 'the client went away'));
    const stageWriter = stage.getWriter();
    const writer = new WriteWindow(stageWriter, LOOKAHEAD_BYTES, clientGone);
    const idleMs = this.timeouts.originIdleMs;
    const { interjections } = pass;
    let bytes = 0;
    let lastChunkAt = Date.now();
    /** While the page's end is held for out-of-order fragments, the origin is not read: its silence is ours. */
    let holding = false;
    const checkIdle = () => {
      const silent = holding ? 0 : Date.now() - lastChunkAt;
      if (silent < idleMs) {
        idle = setTimeout(checkIdle, idleMs - silent);
        return;
      }
      this.end(new PageAborted('origin-idle', `origin body stalled for ${idleMs}ms after ${bytes} bytes`));
    };
    let idle = setTimeout(checkIdle, idleMs);
    const stop = () => {
      void reader.cancel(this.failure).catch(() => {});
      // A stage already closed (the origin's body all written) is left to `finish`.
      void stageWriter.abort(this.failure).catch(() => {});
    };
    // A page that failed before its body was pumped (a deadline while the required fragments were awaited) stops at once.
    if (this.signal.aborted) stop();
    else this.signal.addEventListener('abort', stop, { once: true });
    const hold = async () => {
      if (!interjections) return;
      holding = true;
      for await (const interjected of interjections.drain(this.signal)) await writer.write(interjected);
      holding = false;
      lastChunkAt = Date.now();
    };
    const write = async (pieces: Iterable<Piece>) => {
      for (const piece of pieces) {
        if (piece === BODY_END) await hold();
        else await writer.write(piece instanceof Uint8Array ? piece : await piece);
      }
    };
    /** The next chunk; meanwhile, on an out-of-order page, whatever falls due goes in. */
    const next = async (): Promise<ReadOutcome> => {
      const read = reader.read().then(
        (result): ReadOutcome => ({ ok: true, result }),
        (error): ReadOutcome => ({ ok: false, error }),
      );
      if (!interjections) return read;
      for (;;) {
        const interjected = interjections.take();
        if (interjected) await writer.write(interjected);
        const outcome = await Promise.race([read, interjections.due().then(() => undefined)]);
        if (outcome) return outcome;
      }
    };
    const pump = async () => {
      try {
        for (;;) {
          const outcome = await next();
          if (!outcome.ok) {
            const { error } = outcome;
            if (!this.failure)
              this.end(new PageAborted('origin-broken', `origin body broke after ${bytes} bytes: ${error instanceof Error ? error.message : String(error)}`));
            return;
          }
          const chunk = outcome.result;
          if (this.failure) return;
          if (chunk.done) {
            await write(pass.end());
            await hold();
            return;
          }
          bytes += chunk.value.byteLength;
          lastChunkAt = Date.now();
          await write(pass.pieces(chunk.value));
        }
      } catch {
        clientGone(); // Only a write fails here: nothing reads the page any more.
      } finally {
        clearTimeout(idle);
        void writer.close().catch(() => {});
      }
    };
    void pump();
  }

  /**
   * Runs when the assembling rewriter reaches the end of the page. After a
   * failure that came once the origin's body was all written (earlier ones
   * abort the rewriter's input, so it never gets here) it throws, which errors
   * the client stream, with no JavaScript stage on the body path; workerd logs
   * the throw as an uncaught exception. After a page that completed, `done`
   * runs.
   */
  finish(done?: () => void): void {
    const failure = this.failure;
    if (failure) throw failure;
    this.release();
    done?.();
  }
}
