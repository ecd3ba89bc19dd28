import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { freePort, quietIo } from '../../tools/local-server';

/** The dev loop: edits reload without dropping a request, noise reloads nothing, and the gateway stops with its parent. */

let dev: DevServer | undefined;
let dir: string | undefined;
let origin: Server | undefined;
afterEach(async () => {
  await dev?.close();
  dev = undefined;
  origin?.closeAllConnections();
  origin?.close();
  origin = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An origin whose page has one slot, and whose fragment echoes the query it was fetched with. */
async function startOrigin(): Promise<string> {
  origin = createServer((req, res) => {
    if (req.url?.startsWith('/page')) return res.writeHead(200, { 'content-type': 'text/html' }).end('<p><span data-slot="tag">none</span></p>');
    res.writeHead(200, { 'content-type': 'text/html' }).end(new URL(req.url ?? '/', 'http://x').searchParams.get('v') ?? '');
  });
  await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
}

const manifest = (version: number) => `route: /page\nfragments:\n  tag: { src: "/tag?v=${version}" }\n`;

async function startDev(files: Record<string, string>) {
  const url = await startOrigin();
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-dev-loop-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const { io, log } = quietIo(process.cwd());
  dev = await startDevServer({ origin: url, manifests: dir, port: await freePort(), demo: false, io });
  return { dev, dir, log };
}

/** Resolves after the next handled change, or after `ms` (a change that never comes fails the caller's assertions, not the run). */
const handled = (server: DevServer, ms = 10_000) => Promise.race([server.reloaded(), sleep(ms)]);

it('serves every request across ten manifest edits: the port never refuses, resets or answers 502', async () => {
  const { dev, dir } = await startDev({ 'page.yaml': manifest(0) });
  expect(await (await fetch(`${dev.url}/page`)).text()).toBe('<p><span data-slot="tag">0</span></p>');

  // 20 requests a second by the clock, each on a connection of its own (as a browser opening tabs would), while the edits last.
  const failures: string[] = [];
  const latencies: number[] = [];
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  let editing = true;
  const begun = performance.now();
  const loop = (async () => {
    while (editing) {
      while (sent < ((performance.now() - begun) / 1000) * 20) {
        sent++;
        const at = performance.now();
        const request = fetch(`${dev.url}/page`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(10_000) })
          .then(async (response) => {
            const body = await response.text();
            latencies.push(performance.now() - at);
            if (response.status !== 200 || !body.startsWith('<p><span data-slot="tag">')) failures.push(`${response.status} ${body.slice(0, 80)}`);
          })
          .catch((error: Error & { cause?: { code?: string } }) => void failures.push(error.cause?.code ?? error.message));
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
      }
      await sleep(10);
    }
  })();

  const started = performance.now();
  for (let version = 1; version <= 10; version++) {
    const next = handled(dev);
    await writeFile(path.join(dir, 'page.yaml'), manifest(version));
    await next;
    await sleep(150);
  }
  editing = false;
  await loop;
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;

  expect(dev.reloads).toBe(10);
  expect(failures).toEqual([]);
  expect(sent).toBeGreaterThan(18 * seconds);
  // A request that arrives during a swap waits for it: a moment, not a timeout.
  latencies.sort((a, b) => a - b);
  expect(latencies[latencies.length - 1]).toBeLessThan(5000);
  console.log(
    `dev-loop: ${sent} requests in ${seconds.toFixed(1)} s across 10 reloads, ${failures.length} failed; latency median ${latencies[latencies.length >> 1].toFixed(0)} ms, max ${latencies[latencies.length - 1].toFixed(0)} ms`,
  );
  expect(await (await fetch(`${dev.url}/page`)).text()).toBe('<p><span data-slot="tag">10</span></p>');
}, 180_000); // Ten workerd restarts; on a loaded two-core machine each can take several seconds.

it('reloads only when a manifest changed what it compiles to: not for notes, editor leftovers or a touch', async () => {
  const { dev, dir, log } = await startDev({ 'page.yaml': manifest(1) });
  const noise = async (edit: () => Promise<unknown>) => {
    const next = handled(dev, 600);
    await edit();
    await next;
  };
  await noise(() => writeFile(path.join(dir, 'notes.txt'), 'todo\n'));
  await noise(() => writeFile(path.join(dir, '.page.yaml.swp'), 'b0VIM 9.0\n'));
  await noise(() => writeFile(path.join(dir, 'page.yaml~'), 'route: /old\n'));
  await noise(() => utimes(path.join(dir, 'page.yaml'), new Date(), new Date()));
  // Saved again with only a comment and blank lines added: the same routes.
  await noise(() => writeFile(path.join(dir, 'page.yaml'), `# the product page\n\n${manifest(1)}`));
  expect(dev.reloads).toBe(0);
  expect(log.join('')).not.toContain('reloaded');

  const next = handled(dev);
  await writeFile(path.join(dir, 'page.yaml'), manifest(2));
  await next;
  expect(dev.reloads).toBe(1);
  expect(await (await fetch(`${dev.url}/page`)).text()).toBe('<p><span data-slot="tag">2</span></p>');
});

it('a broken edit, then the same manifests as before, restarts nothing and says the manifests are good again', async () => {
  const { dev, dir, log } = await startDev({ 'page.yaml': manifest(1) });
  let next = handled(dev);
  await writeFile(path.join(dir, 'page.yaml'), 'route: /page\nfragments:\n  tag: { scr: /x }\n');
  await next;
  expect(log.join('')).toContain('still serving the last good manifests');
  next = handled(dev);
  await writeFile(path.join(dir, 'page.yaml'), manifest(1));
  await next;
  expect(dev.reloads).toBe(0);
  expect(log.join('')).toContain('are good again, and the same as those serving');
});

it('survives an Emacs lock file (.#page.yaml, a dangling symlink) and a manifest-named entry it cannot read', async () => {
  const url = await startOrigin();
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-dev-loop-'));
  await writeFile(path.join(dir, 'page.yaml'), manifest(1));
  await symlink('user@host.1234:1700000000', path.join(dir, '.#page.yaml'));
  await symlink(path.join(dir, 'gone.yaml'), path.join(dir, 'dangling.yaml'));
  const { io, log } = quietIo(process.cwd());
  dev = await startDevServer({ origin: url, manifests: dir, port: await freePort(), demo: false, io });
  expect(await (await fetch(`${dev.url}/page`)).text()).toBe('<p><span data-slot="tag">1</span></p>');
  expect(log.join('')).toContain('dangling.yaml: skipped, it cannot be read (ENOENT)');
  expect(log.join('')).not.toContain('.#page.yaml');

  // Emacs takes the lock again while the server runs, then the edit is saved.
  await rm(path.join(dir, '.#page.yaml'));
  await symlink('user@host.1234:1700000001', path.join(dir, '.#page.yaml'));
  await sleep(300);
  const next = handled(dev);
  await writeFile(path.join(dir, 'page.yaml'), manifest(2));
  await next;
  expect(dev.reloads).toBe(1);
  expect(await (await fetch(`${dev.url}/page`)).text()).toBe('<p><span data-slot="tag">2</span></p>');
});

it("previews the project's bindings: wrangler.toml's [vars], KV namespaces and Analytics Engine, and .dev.vars over them", async () => {
  const seen: string[] = [];
  origin = createServer((req, res) => {
    // Only the request made below, through the gateway (the dev server's start-up checks reach the origin directly).
    if (req.headers['user-agent'] === 'dev-loop-test') seen.push(String(req.headers['x-forwarded-host']));
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>page</p>');
  });
  await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(origin.address() as { port: number }).port}`;
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-dev-project-'));
  await writeFile(
    path.join(dir, 'wrangler.toml'),
    [
      'name = "shop-edge"',
      'main = "index.ts"',
      'compatibility_date = "2026-04-20"',
      'kv_namespaces = [{ binding = "SEGMENTS", id = "segments" }, { binding = "TESSERA_VERSIONS", id = "versions" }]',
      'analytics_engine_datasets = [{ binding = "TESSERA_METRICS", dataset = "tessera" }]',
      '[vars]',
      'PUBLIC_HOST = "toml.example"',
      'SHOP = "edge"',
      '',
    ].join('\n'),
  );
  await writeFile(path.join(dir, '.dev.vars'), 'PUBLIC_HOST=shop.example\n');
  await mkdir(path.join(dir, 'manifests'));
  await writeFile(path.join(dir, 'manifests', 'page.yaml'), 'route: /page\nfragments: {}\n');
  const { io, log } = quietIo(dir);
  dev = await startDevServer({ origin: url, manifests: 'manifests', port: await freePort(), demo: false, io });
  expect(await (await fetch(`${dev.url}/page`, { headers: { 'user-agent': 'dev-loop-test' } })).text()).toBe('<p>page</p>');
  expect(seen).toEqual(['shop.example']);
  expect(log).toContain('tessera dev: bindings from wrangler.toml and .dev.vars: PUBLIC_HOST, SHOP, SEGMENTS, TESSERA_VERSIONS, TESSERA_METRICS\n');
});

// --- Stopping: the processes started here, found and checked by PID in /proc.

/** Every process below `root`, by PID (Linux /proc). */
function descendants(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const child of parents.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}

/** Alive: in /proc and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function command(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function answers(port: number): Promise<boolean> {
  try {
    await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })).body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** Starts a long-running process, waits for its port, and hands back everything it started. */
async function started(child: ChildProcess, port: number): Promise<number[]> {
  child.stdout?.resume();
  child.stderr?.resume();
  for (let waited = 0; !(await answers(port)); waited += 200) {
    if (waited > 60_000 || child.exitCode !== null) throw new Error(`nothing answered on port ${port}`);
    await sleep(200);
  }
  const pids = descendants(child.pid as number);
  expect(pids.map(command).some((c) => c.includes('workerd'))).toBe(true);
  return [child.pid as number, ...pids];
}

async function stopped(port: number, pids: number[]): Promise<{ answering: boolean; survivors: string[] }> {
  for (let waited = 0; waited < 5000 && (pids.some(alive) || (await answers(port))); waited += 100) await sleep(100);
  return { answering: await answers(port), survivors: pids.filter(alive).map((pid) => `${pid} ${command(pid)}`) };
}

const killAll = (pids: number[]) => {
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
};

it('stops with npm: SIGTERM to `npm run dev` (what an IDE task runner sends) leaves no gateway and no workerd behind', async () => {
  const port = await freePort();
  const npm = spawn('npm', ['run', 'dev', '--', '--port', String(port)], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let pids: number[] = [npm.pid as number];
  try {
    pids = await started(npm, port);
    npm.kill('SIGTERM');
    expect(await stopped(port, pids)).toEqual({ answering: false, survivors: [] });
  } finally {
    killAll(pids);
  }
});

it('workerd does not outlive a `tessera dev` that is killed outright (SIGKILL)', async () => {
  const port = await freePort();
  const cli = spawn(process.execPath, ['cli/bin/tessera.mjs', 'dev', '--port', String(port)], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let pids: number[] = [cli.pid as number];
  try {
    pids = await started(cli, port);
    cli.kill('SIGKILL');
    expect(await stopped(port, pids)).toEqual({ answering: false, survivors: [] });
  } finally {
    killAll(pids);
  }
});
