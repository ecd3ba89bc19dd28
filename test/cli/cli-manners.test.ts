import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS, cli } from '../../cli/main';

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'tessera-manners-'));
  await mkdir(path.join(cwd, 'manifests'));
});
afterEach(() => rm(cwd, { recursive: true, force: true }));

async function run(argv: string[], options: { tty?: boolean } = {}) {
  let out = '';
  let err = '';
  const code = await cli(argv, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t), isTTY: options.tty }, cwd });
  return { code, out, err };
}

describe('tessera, typos', () => {
  it('suggests the command a typo probably means', async () => {
    const { code, err } = await run(['valdate']);
    expect(code).toBe(1);
    expect(err).toMatch(/^tessera: unknown command "valdate"; did you mean "validate"\?\n\nUsage: tessera/);
    expect((await run(['frobnicate'])).err).toMatch(/^tessera: unknown command "frobnicate"\n\n/);
  });
});

describe('tessera --help', () => {
  it('lists each command with its own summary, without importing the commands', async () => {
    for (const entry of COMMANDS) expect((await entry.load()).summary).toBe(entry.summary);
  });
});

describe('tessera, bad arguments in one clear line', () => {
  it('says what dev says of an --origin without a scheme, not "Invalid URL"', async () => {
    const expected = '--origin must be an absolute URL such as http://127.0.0.1:3000';
    expect(await run(['check', '--origin', '127.0.0.1:3000'])).toEqual({ code: 1, out: '', err: `tessera check: ${expected}\n` });
    expect(await run(['check', '--origin', 'localhost:3000'])).toEqual({ code: 1, out: '', err: `tessera check: ${expected}\n` });
    expect((await run(['dev', '--origin', '127.0.0.1:3000'])).err).toMatch(new RegExp(`^tessera dev: ${expected.replaceAll('.', '\\.')}`));
  });

  it('says a manifests directory that is not there does not exist', async () => {
    expect(await run(['validate', 'manifests-x'])).toEqual({ code: 1, out: '', err: 'tessera validate: manifests-x does not exist\n' });
    expect(await run(['check', '--origin', 'http://127.0.0.1:9', '--manifests', 'nope'])).toEqual({
      code: 1,
      out: '',
      err: 'tessera check: nope does not exist\n',
    });
  });

  it('init refuses a route validate would refuse, and writes nothing', async () => {
    expect(await run(['init', '--route', 'products/:id'])).toEqual({
      code: 1,
      out: '',
      err: 'tessera init: --route products/:id: expected a URL path pattern starting with "/", got "products/:id"; nothing written\n',
    });
    expect((await run(['init', '--route', '/a/(['])).err).toMatch(
      /^tessera init: --route \/a\/\(\[: expected a URLPattern pathname, got "\/a\/\(\[" .*; nothing written\n$/,
    );
    await writeFile(path.join(cwd, 'manifests', 'home.yaml'), 'route: /\nfragments: {}\n');
    expect((await run(['init', '--route', '/', '--name', 'other'])).err).toBe(
      'tessera init: --route /: pattern "/" is already routed by manifests/home.yaml; nothing written\n',
    );
    expect((await run(['init', '--name', '../escape'])).code).toBe(1);
    expect(await readdir(path.join(cwd, 'manifests'))).toEqual(['home.yaml']);
    // What it does write, validate accepts: a route with YAML's own characters is quoted.
    expect((await run(['init', '--route', '/a #b', '--name', 'hash'])).code).toBe(0);
    expect(await run(['validate'])).toMatchObject({ code: 0, out: '2 manifests OK: hash (/a #b, 2 fragments); home (/, 0 fragments)\n' });
  });
});
