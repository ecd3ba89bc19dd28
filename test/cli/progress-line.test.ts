import { describe, expect, it } from 'vitest';
import { clearingProgress, progressLine } from '../../cli/io';

/** A terminal's stderr and stdout as one screen: what was written, in order. */
function terminal(isTTY: boolean) {
  const written: string[] = [];
  return { written, io: { out: { write: (t: string) => written.push(`out:${t}`) }, err: { isTTY, write: (t: string) => written.push(`err:${t}`) }, cwd: '/' } };
}

describe('the progress line of a slow start', () => {
  it('is drawn on a terminal and cleared before any other line is written, on stdout or stderr', () => {
    const { written, io } = terminal(true);
    const progress = progressLine(io);
    progress.show('tessera dev: starting…');
    const wrapped = clearingProgress(io, progress);
    wrapped.err.write('warning: something\n');
    wrapped.out.write('ready\n');
    expect(written).toEqual(['err:\r\x1b[Ktessera dev: starting…', 'err:\r\x1b[K', 'err:warning: something\n', 'out:ready\n']);
  });

  it('is never drawn when stderr is a file or a pipe', () => {
    const { written, io } = terminal(false);
    const progress = progressLine(io);
    progress.show('tessera dev: starting…');
    clearingProgress(io, progress).out.write('ready\n');
    expect(written).toEqual(['out:ready\n']);
  });
});
