import { type ChildProcess, type ChildProcessByStdio, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { assembleManifests } from '../gateway/manifest/compile';
import { writeCompiled } from './build';
import { formatDiagnostic } from './diagnostics';
import { displayPath } from './display-path';
import type { CliIo } from './io';
import { loadManifests } from './load-manifests';
import { PROJECT, readProjectConfig } from './project-config';

const WRANGLER = path.join(PROJECT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

export interface DevOptions {
  origin?: string;
  manifests: string;
  port: number;
  demo: boolean;
  io: CliIo;
}

export interface DevServer {
  url: string;
  origin: string;
  /** Resolves after each manifest reload has been written (for tests and logs). */
  reloaded(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `tessera dev`: compiles the manifests into a private work directory, runs
 * the real gateway in workerd through `wrangler dev`, and recompiles on every
 * manifest edit — wrangler sees the compiled module change and reloads the
 * Worker, so there is no restart. A broken edit is reported and the last good
 * manifests stay live.
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
  let demo: { url: string; close(): Promise<void> } | undefined;
  if (options.demo && !options.origin) {
    const { startDemoOrigin } = await import('../fragments/demo-origin');
    demo = await startDemoOrigin();
  }
  const origin = options.origin ?? demo?.url;
  if (!origin) throw new Error('--origin URL is required (or use --demo)');

  const work = path.join(PROJECT, '.tessera', `dev-${options.port}`);
  await mkdir(work, { recursive: true });
  const routesFile = path.join(work, 'routes.json');

  const compile = async (): Promise<boolean> => {
    const result = await loadManifests(manifestsDir, io.cwd);
    if (!result.manifests) {
      for (const d of result.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
      return false;
    }
    await writeCompiled(result.manifests, routesFile);
    return true;
  };
  if (!(await compile())) {
    io.err.write('tessera dev: manifests have problems; every request is proxied until they are fixed\n');
    await writeCompiled(assembleManifests([]), routesFile);
  }
  await writeDevWorker(work, origin);

  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      'dev',
      '--config',
      path.join(work, 'wrangler.json'),
      '--ip',
      '127.0.0.1',
      '--port',
      String(options.port),
      '--show-interactive-dev-session=false',
    ],
    { cwd: work, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Whatever ends this process, workerd must not outlive it.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitUntilReady(child, url, io);
  } catch (error) {
    child.kill('SIGTERM');
    await demo?.close();
    throw error;
  }

  let pending = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const waiters: Array<() => void> = [];
  let watcher: FSWatcher;
  try {
    watcher = watch(manifestsDir, onManifestChange);
  } catch (error) {
    await stopChild(child);
    await demo?.close();
    throw error;
  }
  function onManifestChange() {
    clearTimeout(timer);
    // Editors write in bursts (temp file, rename); compile once they are done.
    timer = setTimeout(() => {
      pending = pending.then(async () => {
        if (await compile()) io.out.write(`tessera dev: manifests reloaded from ${displayPath(manifestsDir, io.cwd)}\n`);
        for (const waiter of waiters.splice(0)) waiter();
      });
    }, 80);
  }

  return {
    url,
    origin,
    reloaded: () => new Promise((resolve) => waiters.push(resolve)),
    async close() {
      watcher.close();
      clearTimeout(timer);
      await stopChild(child);
      process.off('exit', killOnExit);
      await demo?.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** The Worker `tessera dev` runs: the real gateway, importing this session's compiled manifests. */
async function writeDevWorker(work: string, origin: string): Promise<void> {
  const project = readProjectConfig();
  const gateway = path
    .relative(work, path.join(PROJECT, 'gateway', 'gateway.ts'))
    .split(path.sep)
    .join('/');
  await writeFile(
    path.join(work, 'entry.ts'),
    `import { createGateway } from '${gateway}';\nimport manifests from './routes.json';\n\n` +
      `const handle = createGateway({ manifests: manifests as any });\n\n` +
      `// miniflare emulates the edge's compression with an encoder that does not flush per chunk,\n` +
      `// which would hide streaming in the preview; "identity" makes it leave the stream alone.\n` +
      `export default {\n` +
      `  async fetch(request: Request, env: any, ctx: ExecutionContext) {\n` +
      `    const response = await handle(request, env, ctx);\n` +
      `    if (!response.body || response.headers.has('content-encoding') || !/html/.test(response.headers.get('content-type') ?? '')) return response;\n` +
      `    const streamed = new Response(response.body, response);\n` +
      `    streamed.headers.set('content-encoding', 'identity');\n` +
      `    return streamed;\n` +
      `  },\n` +
      `};\n`,
  );
  await writeFile(
    path.join(work, 'wrangler.json'),
    JSON.stringify(
      {
        name: 'tessera-dev',
        main: 'entry.ts',
        compatibility_date: project.compatibility_date,
        compatibility_flags: project.compatibility_flags,
        vars: { ORIGIN: origin, TESSERA_LOG: 'timing' },
      },
      null,
      2,
    ),
  );
}

/** Waits for wrangler's "Ready on" line; the probe-free way, so the origin sees no stray request. */
function waitUntilReady(child: ChildProcessByStdio<null, Readable, Readable>, url: string, io: CliIo): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const collect = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
      if (!/Ready on https?:\/\//.test(log)) return;
      finish();
      // From here on, pass wrangler's own log lines (Worker errors, reloads) through.
      child.stdout.on('data', (c: Buffer) => io.out.write(c.toString()));
      child.stderr.on('data', (c: Buffer) => io.err.write(c.toString()));
      resolve();
    };
    const exited = (code: number | null) => {
      finish();
      reject(new Error(`wrangler dev exited with code ${code}:\n${log.trim()}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`wrangler dev was not ready on ${url} within 60s:\n${log.trim()}`));
    }, 60_000);
    function finish() {
      clearTimeout(timer);
      child.stdout.off('data', collect);
      child.stderr.off('data', collect);
      child.off('exit', exited);
    }
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', exited);
  });
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

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(forced);
}

export async function runDev(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      origin: { type: 'string' },
      manifests: { type: 'string' },
      port: { type: 'string' },
      demo: { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port ?? 8787);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a port number, got "${values.port}"`);
  const server = await startDevServer({
    origin: values.origin,
    manifests: values.manifests ?? 'manifests',
    port,
    demo: values.demo || !values.origin,
    io,
  });
  io.out.write(
    `\nTessera dev gateway: ${server.url}/\n` +
      `  origin:    ${server.origin}${values.origin ? '' : ' (embedded demo)'}\n` +
      `  manifests: ${values.manifests ?? 'manifests'} (edits reload live)\n` +
      (values.origin ? '' : `  try:       ${server.url}/products/42\n`) +
      `Press Ctrl+C to stop.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
