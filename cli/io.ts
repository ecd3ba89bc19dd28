/** Where a command writes; injected so tests capture output without spawning. */
export interface CliIo {
  out: { write(text: string): unknown };
  /** isTTY: a terminal, where progress lines may be drawn and cleared. */
  err: { write(text: string): unknown; isTTY?: boolean };
  cwd: string;
}
