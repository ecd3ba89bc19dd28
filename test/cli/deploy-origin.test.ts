import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDeploy, originFromArguments } from '../../cli/deploy-origin';
import { cli } from '../../cli/main';
import { PROJECT } from '../../cli/project-config';

let out: string;
beforeEach(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'tessera-deploy-'));
});
afterEach(() => rm(out, { recursive: true, force: true }));

async function build(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await cli(['build', '--out', path.join(out, 'routes.json'), ...argv], {
    out: { write: (t: string) => (stdout += t) },
    err: { write: (t: string) => (stderr += t) },
    cwd: PROJECT,
  });
  return { code, stdout, stderr };
}

describe('a deploy build', () => {
  it('refuses an ORIGIN on this machine, and says how to fix it', async () => {
    const result = await build('--deploy', '--origin', 'http://127.0.0.1:8788');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'tessera build: not deploying: ORIGIN http://127.0.0.1:8788 (--origin) is this machine: the deployed Worker could never reach it. Deploy with --var ORIGIN:https://your-origin, or set TESSERA_ALLOW_LOOPBACK_ORIGIN=1 if you mean it\n',
    );
  });

  it("refuses the wrangler.toml default, which is a local preview's", async () => {
    const result = await build('--deploy');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ORIGIN http://127.0.0.1:8788 ([vars] in wrangler.toml) is this machine');
  });

  it('builds for a real origin', async () => {
    const result = await build('--deploy', '--origin', 'https://shop.example.com');
    expect(result.code).toBe(0);
  });

  it("reads wrangler's own arguments: which command deploys, and --var ORIGIN", () => {
    expect(isDeploy(['deploy', '--dry-run'])).toBe(true);
    expect(isDeploy(['versions', 'upload'])).toBe(true);
    expect(isDeploy(['dev', '--port', '8787'])).toBe(false);
    expect(originFromArguments(['deploy', '--var', 'ORIGIN:https://a.example'])).toBe('https://a.example');
    expect(originFromArguments(['deploy', '--var=ORIGIN:https://b.example'])).toBe('https://b.example');
  });

  it('stops a plain `wrangler deploy` of the local default, and lets one with a real ORIGIN through', async () => {
    const run = promisify(execFile);
    const wrangler = path.join(PROJECT, 'node_modules', '.bin', 'wrangler');
    const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' };
    const refused = await run(wrangler, ['deploy', '--dry-run', '--outdir', out], { cwd: PROJECT, env }).catch((error) => error);
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toContain('tessera build: not deploying: ORIGIN http://127.0.0.1:8788');
    const allowed = await run(wrangler, ['deploy', '--dry-run', '--outdir', out, '--var', 'ORIGIN:https://shop.example.com'], { cwd: PROJECT, env });
    expect(allowed.stdout).toContain('--dry-run: exiting now.');
  }, 60_000);
});

describe('npm run deploy', () => {
  const tessera = path.join(PROJECT, 'cli', 'bin', 'tessera.mjs');
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', TESSERA_ALLOW_LOOPBACK_ORIGIN: '' };

  it('refuses a local, missing or relative ORIGIN in one line, printed once, before wrangler starts', async () => {
    const run = promisify(execFile);
    const refused = await run('npm', ['run', '--silent', 'deploy', '--', '--dry-run', '--outdir', out], { cwd: PROJECT, env }).catch((error) => error);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      'tessera deploy: not deploying: ORIGIN http://127.0.0.1:8788 ([vars] in wrangler.toml) is this machine: the deployed Worker could never reach it. Deploy with --var ORIGIN:https://your-origin, or set TESSERA_ALLOW_LOOPBACK_ORIGIN=1 if you mean it\n',
    );
    const relative = await run(process.execPath, [tessera, 'deploy', '--var', 'ORIGIN:shop.example.com'], { cwd: PROJECT, env }).catch((error) => error);
    expect(relative.stderr).toBe('tessera deploy: not deploying: ORIGIN "shop.example.com" (wrangler --var) is not an absolute URL\n');
    const missing = await run(process.execPath, [tessera, 'deploy', '--var', 'ORIGIN:'], { cwd: PROJECT, env }).catch((error) => error);
    expect(missing.stderr).toBe(
      'tessera deploy: not deploying: ORIGIN is not set (wrangler --var): set it under [vars] in wrangler.toml, or deploy with --var ORIGIN:https://your-origin\n',
    );
  }, 30_000);

  it('runs wrangler deploy with the same options when ORIGIN is a real one', async () => {
    const run = promisify(execFile);
    const allowed = await run(process.execPath, [tessera, 'deploy', '--dry-run', '--outdir', out, '--var', 'ORIGIN:https://shop.example.com'], {
      cwd: PROJECT,
      env,
    });
    expect(allowed.stdout).toContain('--dry-run: exiting now.');
  }, 60_000);
});
