import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifest } from '../../cli/load-manifests';
import { PROJECT, readProjectConfig } from '../../cli/project-config';
import { type RunningWorker, startWorker } from '../../cli/workerd-host';
import { assembleManifests } from '../../gateway/manifest/compile';

/**
 * re2js, ESI's regular expression engine, is a module of its own beside the
 * Worker's bundle, loaded the first time a request needs it
 * (gateway/regex-engine.ts): the bundle wrangler deploys leaves it out, and
 * `matches` works in what wrangler uploads as in the dev host.
 */
const PAGE = `<html><body><esi:choose><esi:when test="$(HTTP_USER_AGENT) matches_i '''^curl/[0-9.]+$'''">UA-MATCHED</esi:when><esi:otherwise>UA-OTHER</esi:otherwise></esi:choose></body></html>`;
const origin = createServer((req, res) => {
  if (req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'surrogate-control': 'content="ESI/1.0"' });
    return res.end(PAGE);
  }
  res.writeHead(404, { 'content-type': 'text/html' });
  res.end('');
});
let originUrl: string;
/** wrangler's dry-run output: what `wrangler deploy` would upload. */
let out: string;
const running: Array<{ dispose(): Promise<void> }> = [];

beforeAll(async () => {
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  out = await mkdtemp(path.join(tmpdir(), 'tessera-bundle-'));
  const wrangler = path.join(PROJECT, 'node_modules', '.bin', 'wrangler');
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' };
  await promisify(execFile)(wrangler, ['deploy', '--dry-run', '--outdir', out, '--var', 'ORIGIN:https://shop.example.com'], { cwd: PROJECT, env });
}, 90_000);

afterAll(async () => {
  for (const worker of running) await worker.dispose();
  origin.close();
  await rm(out, { recursive: true, force: true });
});

/** The dry run's output in workerd, as Cloudflare would run it: entry `index.js`, with or without the engine's module beside it. */
async function deployed(withEngine: boolean, logs: string[] = []) {
  const config = readProjectConfig();
  const modules = [{ type: 'ESModule' as const, path: path.join(out, 'index.js') }];
  if (withEngine) modules.push({ type: 'ESModule', path: path.join(out, 'generated', 're2js.js') });
  const mf = new Miniflare({
    modules,
    modulesRoot: out,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings: { ORIGIN: originUrl },
    durableObjects: { TESSERA_COALESCER: 'FragmentCoalescer' },
    cf: false,
    log: new Log(LogLevel.NONE),
    handleStructuredLogs: ({ message }: { message: string }) => void logs.push(message),
  });
  running.push(mf);
  await mf.ready;
  return (ua: string) => mf.dispatchFetch('http://localhost/', { headers: { 'user-agent': ua } }).then((r) => r.text());
}

describe('the regular expression engine', () => {
  it('is left out of the bundle wrangler deploys, and uploaded beside it', async () => {
    const entry = await readFile(path.join(out, 'index.js'), 'utf8');
    const engine = await readFile(path.join(out, 'generated', 're2js.js'), 'utf8');
    // A message of re2js's own parser: in the engine's module, not in the entry.
    expect(engine).toContain('error parsing regexp');
    expect(entry).not.toContain('error parsing regexp');
    expect(entry).toContain('"./generated/re2js.js"');
  });

  it('runs `matches` in the deployed build, loaded on the first page that runs ESI', async () => {
    const page = await deployed(true);
    expect(await page('curl/8.5.0')).toContain('UA-MATCHED');
    expect(await page('Mozilla/5.0')).toContain('UA-OTHER');
  });

  it('missing, fails each pattern test as a test that does not parse: logged, the branch not taken, the page served', async () => {
    const logs: string[] = [];
    const page = await deployed(false, logs);
    const html = await page('curl/8.5.0');
    expect(html).toContain('UA-OTHER');
    expect(html).not.toContain('UA-MATCHED');
    expect(logs.join('\n')).toContain('the regular expression engine (./generated/re2js.js) did not load');
    expect(logs.join('\n')).toMatch(/esi:when test="[^"]*": no regular expression engine to run '\^curl\/\[0-9\.\]\+\$' with \(.*\); the branch is not taken/);
  });

  it('runs `matches` in the dev host, which gives workerd the engine as a module of its own', async () => {
    const { route } = checkManifest('route: /\n', 'home.yaml', 'home');
    const worker: RunningWorker = await startWorker({ routes: assembleManifests([route!]), bindings: { ORIGIN: originUrl } });
    running.push(worker);
    const page = (ua: string) => fetch(`${worker.url}/`, { headers: { 'user-agent': ua } }).then((r) => r.text());
    expect(await page('curl/8.5.0')).toContain('UA-MATCHED');
    expect(await page('Mozilla/5.0')).toContain('UA-OTHER');
  });
});
