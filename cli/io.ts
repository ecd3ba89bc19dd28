/** Where a command writes; injected so tests capture output without spawning. */
export interface CliIo {
  out: { write(text: string): unknown };
  /** isTTY: a terminal, where progress lines may be drawn and cleared. */
  err: { write(text: string): unknown; isTTY?: boolean };
  cwd: string;
}

/**
 * One line on a terminal's stderr that says what a command is waiting for (check
 * fetches page by page; dev starts workerd), redrawn in place and cleared before anything else is
 * written. Nothing at all when stderr is a file or a pipe.
 */
export function progressLine(io: CliIo): { show(text: string): void; clear(): void } {
  let shown = false;
  if (!io.err.isTTY) return { show() {}, clear() {} };
  return {
    show(text) {
      io.err.write(`\r\x1b[K${text}`);
      shown = true;
    },
    clear() {
      if (shown) io.err.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** `io` whose every write clears the progress line first, so that no line is written over it. */
export function clearingProgress(io: CliIo, progress: { clear(): void }): CliIo {
  const clearing = (write: (text: string) => unknown) => (text: string) => {
    progress.clear();
    return write(text);
  };
  return { ...io, out: { write: clearing((text) => io.out.write(text)) }, err: { isTTY: io.err.isTTY, write: clearing((text) => io.err.write(text)) } };
}
