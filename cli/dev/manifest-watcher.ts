import { watch } from 'node:fs';

/**
 * Calls `onChange` once a burst of edits in `dir` has settled: editors write a
 * temp file and rename it, and one save should mean one reload. Changes are
 * handled one at a time, in order.
 */
export function watchManifests(dir: string, onChange: () => Promise<void>, settleMs = 80): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let queue = Promise.resolve();
  const watcher = watch(dir, () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      queue = queue.then(onChange, onChange);
    }, settleMs);
  });
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
