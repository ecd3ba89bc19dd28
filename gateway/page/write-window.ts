/**
 * Writes into a stream without waiting for each write to be taken, up to a
 * byte budget: the origin pump runs this far ahead of the assembling
 * rewriter, so the markup scanner sees includes, and starts their fetches,
 * while the rewriter is still waiting on an earlier fragment. Past the budget
 * it waits, so memory stays bounded however large the page (a `tee()` would
 * buffer all of it behind a slow fragment).
 */
export class WriteWindow {
  private queued = 0;
  private failed: unknown;
  private wake: (() => void) | undefined;

  constructor(
    private readonly writer: WritableStreamDefaultWriter<Uint8Array>,
    private readonly budget: number,
    /** The reading side went away (cancelled), even while nothing is being written. */
    onGone: () => void,
  ) {
    writer.closed.catch(onGone);
  }

  /** Resolves once the bytes not yet taken are within the budget; rejects once a write failed. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    const size = chunk.byteLength;
    this.queued += size;
    this.writer.write(chunk).then(
      () => {
        this.queued -= size;
        if (this.queued <= this.budget) this.release();
      },
      (error) => {
        this.failed ??= error ?? new Error('the stream was closed');
        this.release();
      },
    );
    while (this.queued > this.budget && this.failed === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failed !== undefined) throw this.failed;
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  private release(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
