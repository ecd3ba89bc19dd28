import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { CompiledManifests } from '../../gateway/contract/types';
import type { DevOverrides } from '../../gateway/fetch/dev-overrides';
import { assembleManifests } from '../../gateway/manifest/compile';
import { checkPages, examplePaths } from '../check/check-pages';
import { formatDiagnostic } from '../diagnostics';
import { displayPath } from '../display-path';
import { isHttpUrl } from '../http-url';
import type { CliIo } from '../io';
import { loadManifests } from '../load-manifests';
import { type RunningWorker, startWorker } from '../workerd-host';
import { readDevBindings } from './dev-bindings';
import { type DevFront, startDevFront } from './dev-front';
import { watchManifests } from './manifest-watcher';

export interface DevOptions {
  origin?: string;
  manifests: string;
  port: number;
  demo: boolean;
  /** `--override`: fragments or hosts fetched from local servers. */
  overrides?: DevOverrides;
  io: CliIo;
}

export interface DevServer {
  url: string;
  origin: string;
  /** Resolves after the next manifest change has been handled, applied or refused (for tests and logs). */
  reloaded(): Promise<void>;
  /** How many times workerd was restarted with new manifests. */
  readonly reloads: number;
  close(): Promise<void>;
}

/**
 * `tessera dev`: the real gateway in workerd, on the same host as the
 * benchmarks and tests, with the manifests compiled in. Every manifest edit
 * is recompiled and swapped in without a restart; a broken edit is reported
 * and the last good manifests keep serving.
 */
export async function startDevServer(options: DevOptions): Promise<DevServer> {
  const { io } = options;
  const manifestsDir = path.resolve(io.cwd, options.manifests);
  // Everything that can be wrong is checked before anything starts, so a mistake never leaves workerd running.
  if (!(await stat(manifestsDir).catch(() => undefined))?.isDirectory()) {
    throw new Error(`--manifests ${options.manifests} is not a directory`);
  }
  if (options.origin !== undefined && !isHttpUrl(options.origin)) {
    throw new Error('--origin must be an absolute URL such as http://127.0.0.1:3000 (or use --demo)');
  }
  await assertPortFree(options.port);

  const load = async () => {
    const result = await loadManifests(manifestsDir, io.cwd);
    // What an edit changed, to compare with the last one: the compiled routes, or else the problems.
    const outcome = JSON.stringify(result.manifests ?? { diagnostics: result.diagnostics, warnings: result.warnings });
    const report = () => {
      for (const w of result.warnings) io.err.write(`tessera dev: warning: ${w}\n`);
      for (const d of result.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
    };
    return { manifests: result.manifests, outcome, report };
  };
  const initial = await load();
  initial.report();
  let routes: CompiledManifests | undefined = initial.manifests;
  if (!routes) {
    io.err.write('tessera dev: manifests have problems; every request is proxied until they are fixed\n');
    routes = assembleManifests([]);
  }

  let demo: { url: string; close(): Promise<void> } | undefined;
  if (options.demo && !options.origin) {
    const { startDemoOrigin } = await import('../../fragments/demo-origin');
    demo = await startDemoOrigin();
  }
  const origin = options.origin ?? demo?.url;
  if (!origin) throw new Error('--origin URL is required (or use --demo)');

  // The project's own bindings (wrangler.toml, .dev.vars); what tessera dev sets itself comes last and wins.
  const project = readDevBindings(io.cwd);
  let worker: RunningWorker | undefined;
  let front: DevFront;
  try {
    worker = await startWorker({
      routes,
      // workerd listens on a port of its own; the dev port is the front's, which stays open across reloads.
      port: 0,
      kvNamespaces: project.kvNamespaces,
      analyticsEngineDatasets: project.analyticsEngineDatasets,
      bindings: {
        ...project.vars,
        ORIGIN: origin,
        TESSERA_LOG: 'timing',
        TESSERA_DEV: 'true',
        TESSERA_OVERRIDES: JSON.stringify(options.overrides ?? { fragments: {}, hosts: {} }),
      },
      onLog: (line) => void io.out.write(`${line}\n`),
    });
    const running = worker;
    front = await startDevFront(options.port, () => running.url);
  } catch (error) {
    await worker?.dispose();
    await demo?.close();
    throw error;
  }
  const running = worker;

  if (project.sources.length) {
    const what = [...Object.keys(project.vars), ...project.kvNamespaces, ...Object.keys(project.analyticsEngineDatasets)];
    io.err.write(`tessera dev: bindings from ${project.sources.join(' and ')}: ${what.join(', ') || 'none'}\n`);
  }
  if (demo) {
    io.err.write('tessera dev: no --origin given, so this is the embedded demo shop; front your own origin with --origin URL\n');
  } else {
    const problem = await unreachable(origin);
    if (problem) io.err.write(`tessera dev: warning: the origin ${origin} does not answer (${problem}); assembled pages get a 502 until it does\n`);
    // What `tessera check` would say, once, for every route: in the background, so the gateway serves meanwhile.
    else void checkPages(new URL(origin), routes, examplePaths(routes), (line) => io.err.write(`tessera dev: warning: ${line}\n`)).catch(() => {});
  }

  const waiters: Array<() => void> = [];
  let serving = JSON.stringify(routes);
  let last = initial.outcome;
  let reloads = 0;
  const where = displayPath(manifestsDir, io.cwd);
  const watcher = watchManifests(manifestsDir, async () => {
    try {
      const next = await load();
      // A save that changes nothing compiled (a touch, whitespace, a comment) restarts nothing and says nothing.
      if (next.outcome === last) return;
      last = next.outcome;
      next.report();
      if (!next.manifests) {
        io.err.write('tessera dev: still serving the last good manifests\n');
      } else if (next.outcome === serving) {
        io.out.write(`tessera dev: manifests in ${where} are good again, and the same as those serving\n`);
      } else {
        await running.reload(next.manifests, (restart) => front.swap(restart));
        serving = next.outcome;
        reloads++;
        io.out.write(`tessera dev: manifests reloaded from ${where}\n`);
      }
    } catch (error) {
      io.err.write(`tessera dev: could not reload (${error instanceof Error ? error.message : String(error)}); still serving the last good manifests\n`);
    } finally {
      for (const waiter of waiters.splice(0)) waiter();
    }
  });

  return {
    url: front.url,
    origin,
    reloaded: () => new Promise((resolve) => waiters.push(resolve)),
    get reloads() {
      return reloads;
    },
    async close() {
      watcher.close();
      await front.close();
      await running.dispose();
      await demo?.close();
    },
  };
}

/** Why the origin cannot be reached, or undefined when it answers at all (any status will do). */
async function unreachable(origin: string): Promise<string | undefined> {
  try {
    const response = await fetch(origin, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(3000) });
    await response.body?.cancel();
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  }
}

/** Fails early and clearly when the port is taken, instead of talking to whatever holds it. */
async function assertPortFree(port: number): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  } catch {
    throw new Error(`port ${port} is already in use on 127.0.0.1; pass --port N to use another`);
  } finally {
    server.close();
  }
}
