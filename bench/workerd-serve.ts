import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT, readProjectConfig } from '../cli/project-config';
import { GATEWAY_ENTRY, workerModules } from '../cli/workerd-host';
import type { CompiledManifests } from '../gateway/contract/types';

/**
 * A Worker served by bare `workerd serve`, one process each, for the
 * benchmarks' CPU readings. Miniflare (which `tessera dev` uses) puts a
 * JavaScript entry Worker of its own in front of every request; here nothing
 * but the Worker under test runs in the process, so its CPU time is the
 * Worker's and the runtime's own.
 */
export interface ServedWorker {
  url: string;
  pid: number;
  /** CPU time the process has used so far, all threads, in ms. */
  cpuMs(): number;
  close(): Promise<void>;
}

export interface ServeOptions {
  entry?: string;
  routes?: CompiledManifests;
  bindings: Record<string, string>;
  /** Opens the V8 inspector on this port (bench/profile.ts). */
  inspectorPort?: number;
}

const WORKERD = path.join(PROJECT, 'node_modules', '.bin', 'workerd');

/**
 * The Cache API's service: bare workerd has none, and its `match` and `put`
 * throw without one, so the gateway's Cache API layers would be skipped and a
 * miss would cost less than in production. This one answers every lookup
 * "miss" (workerd's protocol: `Cf-Cache-Status: MISS`) and keeps nothing, so
 * a page cache miss pays its L2 lookup as one subrequest, as at the edge. It
 * runs in the bench's process, whose CPU is not counted. Shared by every
 * Worker served, closed with the last. `TESSERA_BENCH_CACHE=none` leaves
 * workerd without one, to see what the Cache API's lookups cost.
 */
let cacheService: Promise<{ port: number; close: () => void }> | undefined;
let cacheUsers = 0;

function startCacheService(): Promise<{ port: number; close: () => void }> {
  cacheService ??= new Promise((resolve) => {
    const server = createHttpServer((req, res) => {
      req.resume().on('end', () => {
        if (req.method === 'GET') res.writeHead(504, { 'cf-cache-status': 'MISS' }).end();
        else res.writeHead(204).end();
      });
    });
    // Never what keeps the bench running (a Worker that failed to start is never closed).
    server.unref();
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() }));
  });
  return cacheService;
}

export async function serveWorker({ entry = GATEWAY_ENTRY, routes, bindings, inspectorPort }: ServeOptions): Promise<ServedWorker> {
  const config = readProjectConfig();
  const cache = await startCacheService();
  cacheUsers++;
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-bench-'));
  const modules = await workerModules(entry, routes);
  for (const { name, contents } of modules) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), contents);
  }
  const port = await freePort();
  const gateway = entry === GATEWAY_ENTRY;
  const textBindings = Object.entries(bindings).map(([name, value]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`);
  if (gateway) textBindings.push('(name = "TESSERA_COALESCER", durableObjectNamespace = (className = "FragmentCoalescer"))');
  writeFileSync(
    path.join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
    (name = "cache", external = (address = "127.0.0.1:${cache.port}", http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [${modules.map(({ name }) => `(name = ${JSON.stringify(name)}, esModule = embed ${JSON.stringify(name)})`).join(', ')}],
  compatibilityDate = ${JSON.stringify(config.compatibility_date)},
  ${process.env.TESSERA_BENCH_CACHE === 'none' ? '' : 'cacheApiOutbound = "cache",'}
  compatibilityFlags = [${config.compatibility_flags.map((f) => JSON.stringify(f)).join(', ')}],
  bindings = [${textBindings.join(', ')}],
  ${gateway ? 'durableObjectNamespaces = [(className = "FragmentCoalescer", uniqueKey = "tessera-bench-coalescer", enableSql = true)],\n  durableObjectStorage = (inMemory = void),' : ''}
);
`,
  );
  const child: ChildProcess = spawn(
    WORKERD,
    ['serve', path.join(dir, 'config.capnp'), '--experimental', ...(inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitUntilListening(port, child, () => stderr);
  const pid = child.pid as number;
  return {
    url,
    pid,
    cpuMs: () => processCpuMs(pid),
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      // TESSERA_KEEP_BUNDLE=1 keeps the bundle, so a profile's `index.js:LINE` can be read.
      if (process.env.TESSERA_KEEP_BUNDLE === '1') console.log(`bundle kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
      if (--cacheUsers === 0) {
        cache.close();
        cacheService = undefined;
      }
    },
  };
}

/** CPU time of a process and all its threads, from the kernel's nanosecond scheduler counters (Linux). */
export function processCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilListening(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}): ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  throw new Error(`workerd did not listen on ${port} within 15s: ${stderr()}`);
}
