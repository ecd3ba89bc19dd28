import { parseArgs } from 'node:util';
import type { Command } from '../commands/command';
import { clearingProgress, progressLine } from '../io';
import { startDevServer } from './dev-server';
import { overridesFromArguments } from './override-arguments';

export const devCommand: Command = {
  name: 'dev',
  summary: 'Run the gateway locally in front of an origin; manifest edits reload live',
  usage: `Usage: tessera dev [--origin URL] [--manifests DIR] [--port N] [--override ID=URL ...]

Runs the real gateway in workerd on 127.0.0.1 in front of an origin, with the
fragment waterfall of every page in the console. Manifest edits reload live;
a broken edit is reported and the last good manifests keep serving.

  --origin URL      the origin to front (default: the embedded demo shop)
  --manifests DIR   manifests directory (default: manifests)
  --port N          gateway port (default: 8787)
  --demo            start the embedded demo origin (the default without --origin)
  --override ID=URL fetch fragment ID from URL (a local server) while the rest stay
                    remote; HOST=URL does the same for every fragment on HOST
`,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        origin: { type: 'string' },
        manifests: { type: 'string' },
        port: { type: 'string' },
        demo: { type: 'boolean', default: false },
        override: { type: 'string', multiple: true },
      },
    });
    const overrides = overridesFromArguments(values.override ?? []);
    const port = Number(values.port ?? 8787);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a port number, got "${values.port}"`);
    // Bundling and starting workerd takes seconds: a terminal is told what it waits for.
    const progress = progressLine(io);
    progress.show('tessera dev: bundling the gateway and starting workerd…');
    const server = await startDevServer({
      origin: values.origin,
      manifests: values.manifests ?? 'manifests',
      port,
      demo: values.demo || !values.origin,
      overrides,
      io: clearingProgress(io, progress),
    }).finally(() => progress.clear());
    io.out.write(
      `\nTessera dev gateway: ${server.url}/\n` +
        `  origin:    ${server.origin}${values.origin ? '' : ' (embedded demo)'}\n` +
        `  manifests: ${values.manifests ?? 'manifests'} (edits reload live)\n` +
        [...Object.entries(overrides.fragments), ...Object.entries(overrides.hosts)].map(([from, to]) => `  override:  ${from} → ${to}\n`).join('') +
        (values.origin ? '' : `  try:       ${server.url}/products/42\n`) +
        'Press Ctrl+C to stop.\n',
    );
    const reason = await stopRequested();
    io.err.write(`tessera dev: stopping (${reason})\n`);
    // workerd and the demo origin go with it; should that hang, a second signal ends the process at once.
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    return 0;
  },
};

/**
 * Supervision: resolves when this process is asked to stop (Ctrl+C, SIGTERM
 * from a task runner, SIGHUP from a closed terminal) or when its parent is
 * gone. `npm run dev` runs it under `sh -c`, and npm passes a SIGTERM to that
 * shell only: the shell dies and this process is handed to init. Watching the
 * parent PID catches that, and a parent killed outright, on every platform.
 */
function stopRequested(): Promise<string> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  return new Promise((resolve) => {
    const parent = process.ppid;
    const stop = (reason: string) => {
      clearInterval(watch);
      // Only once: with the handlers gone, a second signal takes its default course and ends the process.
      for (const signal of signals) process.off(signal, handlers[signal]);
      resolve(reason);
    };
    const handlers = Object.fromEntries(signals.map((signal) => [signal, () => stop(signal)])) as Record<(typeof signals)[number], () => void>;
    for (const signal of signals) process.on(signal, handlers[signal]);
    const watch = setInterval(() => {
      if (process.ppid !== parent) stop('its parent process exited');
    }, 250);
  });
}
