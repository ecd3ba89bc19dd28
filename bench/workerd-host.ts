import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { PROJECT, readProjectConfig } from '../cli/project-config';

/**
 * Runs a Worker in bare workerd (Miniflare, no wrangler dev proxy layers) so
 * benchmarks and the resilience suite drive the real gateway, and compare it
 * with a one-line pass-through Worker on the same runtime, with the project's
 * compatibility settings.
 */
export interface WorkerHostOptions {
  bindings: Record<string, string>;
  /** Every line the Worker logs (console.log/error), as workerd reports it. */
  onLog?: (line: string) => void;
  /** Opens workerd's V8 inspector on this port (heap readings in bench/memory.ts). */
  inspectorPort?: number;
}

export interface RunningWorker {
  url: string;
  /** The workerd process serving this Worker, for memory readings. */
  pid: number | undefined;
  dispose(): Promise<void>;
}

export async function startWorker(source: string, options: WorkerHostOptions): Promise<RunningWorker> {
  const bundle = await build({
    stdin: { contents: source, resolveDir: PROJECT, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker'],
    write: false,
  });
  const config = readProjectConfig();
  const before = new Set(childPids());
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0].text,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings: options.bindings,
    host: '127.0.0.1',
    port: 0,
    log: new Log(LogLevel.WARN),
    // No network here to fetch the real request.cf object from; the bench needs none.
    cf: false,
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
    ...(options.onLog ? { handleStructuredLogs: ({ message }: { message: string }) => void options.onLog!(message) } : {}),
  });
  const url = await mf.ready;
  const pid = childPids().find((p) => !before.has(p));
  return { url: url.origin, pid, dispose: () => mf.dispose() };
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

function childPids(): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

export const PASS_THROUGH_WORKER = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(env.ORIGIN + url.pathname + url.search, request));
  },
};`;

export function gatewayWorker(manifests: unknown): string {
  return `import { createGateway } from './gateway/gateway.ts';
const handle = createGateway({ manifests: ${JSON.stringify(manifests)} });
export default { fetch: (request, env, ctx) => handle(request, env, ctx) };`;
}
