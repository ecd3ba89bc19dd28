import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { Log, LogLevel, Miniflare, type MiniflareOptions } from 'miniflare';
import type { CompiledManifests } from '../gateway/contract/types';
import { regexEngineModule } from './build';
import { PROJECT, readProjectConfig } from './project-config';

/**
 * Runs a Worker in workerd through Miniflare: the one host behind `tessera
 * dev`, the benchmarks and the resilience suite. It bundles the Worker from
 * its entry file, with the project's compatibility settings, and supplies the
 * compiled routes the gateway entry imports as `tessera:routes`.
 */
export const GATEWAY_ENTRY = path.join(PROJECT, 'gateway', 'index.ts');

export interface WorkerHostOptions {
  /** The Worker's entry module; the gateway unless a bench says otherwise. */
  entry?: string;
  /** What the gateway entry imports as `tessera:routes`. */
  routes?: CompiledManifests;
  bindings: Record<string, string>;
  /** 0 (default): any free port. */
  port?: number;
  /** Every line the Worker logs (console.log/error). */
  onLog?: (line: string) => void;
  /** Opens workerd's V8 inspector on this port (heap readings in bench/memory.ts). */
  inspectorPort?: number;
  /**
   * More copies of the gateway, each a Worker (an isolate) of its own with its
   * own memory cache, sharing the first one's Durable Objects: what several
   * isolates in one data centre look like.
   */
  peers?: number;
  /** KV namespaces (in memory for the session) and Analytics Engine datasets, by binding name: `tessera dev` reads them from the project's wrangler.toml. */
  kvNamespaces?: string[];
  analyticsEngineDatasets?: Record<string, { dataset: string }>;
}

export interface RunningWorker {
  url: string;
  /** Fetch through one of the peers (0 is the main Worker at `url`). */
  fetchPeer(peer: number, path: string, init?: RequestInit): Promise<Response>;
  /** The workerd process serving this Worker, for memory readings (a reload starts another). */
  pid: number | undefined;
  /**
   * Rebuilds with new routes, then restarts workerd with them. The restart
   * drops connections to workerd: `around` gets to run it at a moment of its
   * choosing (`tessera dev` holds requests meanwhile). The bundle is built
   * before, so the restart is as short as it can be.
   */
  reload(routes: CompiledManifests, around?: (restart: () => Promise<void>) => Promise<void>): Promise<void>;
  dispose(): Promise<void>;
}

export async function startWorker(options: WorkerHostOptions): Promise<RunningWorker> {
  const config = readProjectConfig();
  const gateway = !options.entry || options.entry === GATEWAY_ENTRY;
  const miniflareOptions = async (routes: CompiledManifests | undefined): Promise<MiniflareOptions> => {
    const modules = await workerModules(options.entry ?? GATEWAY_ENTRY, routes);
    const worker = (name: string) => ({
      name,
      modulesRoot: MODULES_ROOT,
      modules: modules.map(({ name, contents }) => ({ type: 'ESModule' as const, path: path.join(MODULES_ROOT, name), contents })),
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      bindings: options.bindings,
      ...(options.kvNamespaces?.length ? { kvNamespaces: options.kvNamespaces } : {}),
      ...(options.analyticsEngineDatasets && Object.keys(options.analyticsEngineDatasets).length
        ? { analyticsEngineDatasets: options.analyticsEngineDatasets }
        : {}),
      // Every copy binds the Durable Objects of the first, as isolates of one Worker do.
      ...(gateway ? { durableObjects: { TESSERA_COALESCER: { className: 'FragmentCoalescer', scriptName: 'gateway-0' } } } : {}),
    });
    return {
      workers: Array.from({ length: 1 + (options.peers ?? 0) }, (_, i) => worker(`gateway-${i}`)),
      host: '127.0.0.1',
      port: options.port ?? 0,
      log: new Log(LogLevel.WARN),
      // No network here to fetch the real request.cf object from.
      cf: false,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
      ...(options.onLog ? { handleStructuredLogs: ({ message }: { message: string }) => void options.onLog?.(message) } : {}),
    };
  };
  const before = new Set(workerdChildren());
  const mf = new Miniflare(await miniflareOptions(options.routes));
  let url = await mf.ready;
  const watchdog = startWatchdog();
  let pid = workerdChildren().find((p) => !before.has(p));
  watchdog?.watch(pid);
  return {
    get url() {
      return url.origin;
    },
    fetchPeer: async (peer, path, init) => {
      const worker = await mf.getWorker(`gateway-${peer}`);
      return (await worker.fetch(new URL(path, url).href, init as never)) as unknown as Response;
    },
    get pid() {
      return pid;
    },
    reload: async (routes, around = (restart) => restart()) => {
      const next = await miniflareOptions(routes);
      await around(async () => {
        const previous = pid;
        await mf.setOptions(next);
        url = await mf.ready;
        pid = workerdChildren().find((p) => p !== previous && !before.has(p));
        watchdog?.watch(pid);
      });
    },
    dispose: async () => {
      await mf.dispose();
      watchdog?.stop();
    },
  };
}

/** Where module names are relative to: the entry is `index.js`, the regex engine `generated/re2js.js` beside it, as deployed. */
const MODULES_ROOT = path.join(PROJECT, 'gateway');

/**
 * The Worker's modules, entry first: the bundle, and beside it the regex
 * engine it imports on first need (gateway/regex-engine.ts), never part of
 * the bundle; built in memory, so no `tessera build` is needed first.
 */
export async function workerModules(entry: string, routes: CompiledManifests | undefined): Promise<{ name: string; contents: string }[]> {
  regexEngine ??= regexEngineModule();
  const [script, engine] = await Promise.all([bundle(entry, routes), regexEngine]);
  return [
    { name: 'index.js', contents: script },
    { name: REGEX_ENGINE_MODULE, contents: engine },
  ];
}

/** The regex engine's module name, relative to the entry's. */
export const REGEX_ENGINE_MODULE = 'generated/re2js.js';
let regexEngine: Promise<string> | undefined;

/** The entry module alone; workerModules has the modules it may import. */
export async function bundle(entry: string, routes: CompiledManifests | undefined): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker'],
    write: false,
    plugins: [routesModule(routes)],
  });
  return result.outputFiles[0].text;
}

/** `tessera:routes`, resolved to the routes given (the deployed build aliases it to the generated file). */
function routesModule(routes: CompiledManifests | undefined): Plugin {
  return {
    name: 'tessera-routes',
    setup(build) {
      build.onResolve({ filter: /^tessera:routes$/ }, () => ({ path: 'tessera:routes', namespace: 'tessera' }));
      build.onLoad({ filter: /.*/, namespace: 'tessera' }, () => {
        if (!routes) throw new Error('this Worker imports tessera:routes, but the host was given no routes');
        return { contents: JSON.stringify(routes), loader: 'json' };
      });
    },
  };
}

/** Resident memory of a process in MiB, from /proc (Linux). */
export function residentMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' });
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** This process's workerd children, by PID. */
function workerdChildren(): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, comm]) => comm === 'workerd')
      .map(([p]) => Number(p))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

/**
 * workerd outlives a Node process that is killed outright (SIGKILL, a crash):
 * nothing tells it. A tiny shell reads the current workerd PID from a pipe
 * and, when the pipe closes because this process is gone, kills that PID. It
 * ignores the terminal's signals so that a Ctrl+C leaves it to the orderly
 * shutdown. An empty line (on dispose) disarms it.
 */
function startWatchdog(): { watch(pid: number | undefined): void; stop(): void } | undefined {
  if (process.platform === 'win32') return undefined;
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', 'trap "" INT TERM HUP; w=; while read -r p; do w=$p; done; [ -n "$w" ] && kill -9 "$w" 2>/dev/null; exit 0'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    return undefined;
  }
  child.on('error', () => {});
  child.stdin?.on('error', () => {});
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    watch: (pid) => void child.stdin?.write(`${pid ?? ''}\n`),
    stop: () => {
      child.stdin?.end('\n');
    },
  };
}
