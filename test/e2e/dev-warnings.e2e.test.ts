import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { freePort, quietIo } from './fixture-origin';

let dev: DevServer | undefined;
let manifests: string | undefined;
afterEach(async () => {
  await dev?.close();
  if (manifests) await rm(manifests, { recursive: true, force: true });
});

it('warns when the origin does not answer, instead of starting in silence', async () => {
  manifests = await mkdtemp(path.join(tmpdir(), 'tessera-dev-'));
  await writeFile(path.join(manifests, 'page.yaml'), 'route: /page\nfragments: {}\n');
  const dead = `http://127.0.0.1:${await freePort()}`;
  const { io, log } = quietIo(process.cwd());
  dev = await startDevServer({ origin: dead, manifests, port: await freePort(), demo: false, io });
  expect(log).toContain(`tessera dev: warning: the origin ${dead} does not answer (ECONNREFUSED); assembled pages get a 502 until it does\n`);
});

it('says so when it serves the demo because no --origin was given', async () => {
  const { io, log } = quietIo(process.cwd());
  dev = await startDevServer({ manifests: 'manifests', port: await freePort(), demo: true, io });
  expect(log).toContain('tessera dev: no --origin given, so this is the embedded demo shop; front your own origin with --origin URL\n');
});
