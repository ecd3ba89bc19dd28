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

describe('tessera validate, for CI and for second looks', () => {
  const manifest = (name: string, text: string) => writeFile(path.join(cwd, 'manifests', name), text);

  it('warns of a timeout that is a bare number of seconds above a minute, or longer than the page, and still passes', async () => {
    await manifest('a.yaml', 'route: /a\nfragments:\n  recs:\n    src: /recs\n    timeout: 300\n  ok: { src: /ok, timeout: 2 }\n');
    await manifest('b.yaml', 'route: /b\ntimeouts: { page: 30s }\nfragments:\n  slow: { src: /s, timeout: 45s }\n');
    const { code, out, err } = await run(['validate']);
    expect(code).toBe(0);
    expect(err).toBe(
      [
        'manifests/a.yaml:5:14: warning: fragments.recs.timeout: 300 is a number of seconds (5 min), longer than the page deadline (timeouts.page, 1 min): write 300ms if you meant milliseconds',
        '  5 |     timeout: 300',
        '                   ^',
        'manifests/b.yaml:4:29: warning: fragments.slow.timeout: 45 s is longer than the page deadline (timeouts.page, 30 s): the page ends before this timeout could fire',
        '  4 |   slow: { src: /s, timeout: 45s }',
        '                                  ^',
        '',
      ].join('\n'),
    );
    expect(out).toBe('2 manifests OK: a (/a, 2 fragments); b (/b, 1 fragment)\n2 warnings above\n');
  });

  it('prints its problems as JSON with --json, and as GitHub annotations with --format github', async () => {
    await manifest('a.yaml', 'route: /a\nfragments:\n  x: { src: /x, ttl: soon, timeout: 90 }\n');
    const json = await run(['validate', '--json']);
    expect(json.code).toBe(1);
    expect(json.err).toBe('');
    expect(JSON.parse(json.out)).toEqual({
      problems: [
        {
          file: 'manifests/a.yaml',
          line: 3,
          column: 22,
          field: 'fragments.x.ttl',
          message: 'expected a duration like "300ms", "30s", "5m", "6h", "1d" or a number of seconds, got "soon"',
          severity: 'error',
        },
        {
          file: 'manifests/a.yaml',
          line: 3,
          column: 37,
          field: 'fragments.x.timeout',
          message: expect.stringMatching(/^90 is a number of seconds/),
          severity: 'warning',
        },
      ],
      summary: { errors: 1, warnings: 1, manifests: 1, ok: false, text: '1 problem in manifests' },
    });
    const github = await run(['validate', '--format', 'github']);
    expect(github.code).toBe(1);
    expect(github.out.split('\n')).toEqual([
      '::error file=manifests/a.yaml,line=3,col=22::fragments.x.ttl: expected a duration like "300ms", "30s", "5m", "6h", "1d" or a number of seconds, got "soon"',
      expect.stringMatching(/^::warning file=manifests\/a\.yaml,line=3,col=37::fragments\.x\.timeout: 90 is a number of seconds/),
      'tessera validate: 1 problem in manifests (1 warning)',
      '',
    ]);
    expect((await run(['validate', '--format', 'xml'])).err).toBe('tessera validate: --format must be text, json or github, got "xml"\n');
  });
});
