import { watch } from 'node:fs';
import { isManifestName } from '../load-manifests';

/**
 * Calls `onChange` once a burst of edits to manifests in `dir` has settled:
 * editors write a temp file and rename it, and one save should mean one
 * reload. Only a `*.yaml`/`*.yml` that is not a dotfile counts: notes, Vim's
 * `.x.yaml.swp` and `x.yaml~`, Emacs' `.#x.yaml` lock never do. Changes are
 * handled one at a time, in order; `onChange` is expected not to throw, and
 * nothing it throws escapes (the process must outlive a bad edit).
 */
export function watchManifests(dir: string, onChange: () => Promise<void>, settleMs = 80): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let queue = Promise.resolve();
  const run = () => onChange().catch(() => {});
  const watcher = watch(dir, (_event, filename) => {
    // No name (rare, some platforms): assume it may have been a manifest.
    if (filename && !isManifestName(filename.toString())) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      queue = queue.then(run);
    }, settleMs);
  });
  // A watched directory that disappears says so here; an unhandled 'error' would end the process.
  watcher.on('error', () => {});
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
