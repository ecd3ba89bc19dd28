import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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
