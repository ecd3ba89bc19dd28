/** Where a command writes; injected so tests capture output without spawning. */
export interface CliIo {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
  cwd: string;
}
