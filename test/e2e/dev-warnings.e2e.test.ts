import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { freePort, quietIo } from '../../tools/local-server';

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

it('points one fragment, or one host, at a local server with --override, the rest staying remote', async () => {
  const { createServer } = await import('node:http');
  const serve = (name: string) =>
    new Promise<{ url: string; close: () => void }>((resolve) => {
      const server = createServer((req, res) => {
        if (req.url?.startsWith('/page')) {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<div data-slot="recs"></div>|<div data-slot="price"></div>|<div data-slot="stock"></div>');
        }
        res.writeHead(200, { 'content-type': 'text/html' }).end(`${name}${req.url}`);
      });
      server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() }));
    });
  const remote = await serve('remote');
  const local = await serve('local');
  const pricing = await serve('pricing');
  try {
    manifests = await mkdtemp(path.join(tmpdir(), 'tessera-dev-'));
    const manifest = `route: /page\nhosts: [pricing.example.com]\nfragments:\n  recs: { src: "/recs?u=1" }\n  price: { src: "https://pricing.example.com/p" }\n  stock: { src: /stock }\n`;
    await writeFile(path.join(manifests, 'page.yaml'), manifest);
    const { overridesFromArguments } = await import('../../cli/dev/override-arguments');
    const overrides = overridesFromArguments([`recs=${local.url}/dev-recs`, `pricing.example.com=${pricing.url}`]);
    const { io } = quietIo(process.cwd());
    dev = await startDevServer({ origin: remote.url, manifests, port: await freePort(), demo: false, overrides, io });
    const body = await (await fetch(`${dev.url}/page`)).text();
    expect(body).toBe('<div data-slot="recs">local/dev-recs?u=1</div>|<div data-slot="price">pricing/p</div>|<div data-slot="stock">remote/stock</div>');
  } finally {
    remote.close();
    local.close();
    pricing.close();
  }
});

it('checks every route once when it starts, with the same warnings as tessera check', async () => {
  const { createServer } = await import('node:http');
  const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>\n<div data-slot="typo"></div>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    manifests = await mkdtemp(path.join(tmpdir(), 'tessera-dev-'));
    await writeFile(path.join(manifests, 'page.yaml'), 'route: /page\nfragments: {}\n');
    const { io, log } = quietIo(process.cwd());
    dev = await startDevServer({ origin, manifests, port: await freePort(), demo: false, io });
    const expected = `tessera dev: warning: ${origin}/page:2:1: data-slot="typo" names no fragment of route page: declare it under fragments:, or remove the attribute\n`;
    for (let waited = 0; !log.includes(expected) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(log).toContain(expected);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
