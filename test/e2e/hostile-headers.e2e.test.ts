import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { freePort, quietIo } from '../../tools/local-server';

/**
 * Header bytes only a raw socket can send (fetch and node:http refuse to
 * write them). The origin here is a raw socket too: node:http's parser would
 * answer such a request 400 itself without telling its handler, which hides
 * whether the bytes reached the origin at all.
 */
let origin: Awaited<ReturnType<typeof startRawOrigin>>;
let gateway: DevServer;
let manifests: string;
const { io, log } = quietIo(process.cwd());

async function startRawOrigin() {
  /** The head of every request the origin received, as bytes (latin1). */
  const heads: string[] = [];
  const server = createServer((socket) => {
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      heads.push(head.slice(0, head.indexOf('\r\n\r\n')));
      const body = '<p>page</p>';
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Whether a request for this path reached the origin. */
    saw: (target: string) => heads.some((h) => h.startsWith(`GET ${target} `)),
    heads,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  origin = await startRawOrigin();
  manifests = await mkdtemp(path.join(tmpdir(), 'tessera-hostile-'));
  // A parameterised route, so the dev server's own check of the origin requests /hostile/1 and none of the paths below.
  await writeFile(path.join(manifests, 'hostile.yaml'), 'route: /hostile/:id\n');
  gateway = await startDevServer({ origin: origin.url, manifests, port: await freePort(), demo: false, io });
});

afterAll(async () => {
  await gateway?.close();
  await origin?.close();
  await rm(manifests, { recursive: true, force: true });
});

/** Sends one request exactly as written; the status and body of the answer. */
function rawRequest(target: string, header: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      // Written, not ended: as a browser does, the client keeps its side open until the answer (Connection: close ends it).
      socket.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${header}\r\nConnection: close\r\n\r\n`, 'latin1'));
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('a request header holding a control character', () => {
  it.each([
    ['a composed page', '/hostile/2', 'SOH', '\x01'],
    ['a composed page', '/hostile/3', 'DEL', '\x7f'],
    ['a proxied path', '/unmatched-a', 'SOH', '\x01'],
    ['a proxied path', '/unmatched-b', 'US', '\x1f'],
  ])('on %s (%s) is answered 400 naming the header but not its value, and never reaches the origin', async (_, target, __, byte) => {
    const response = await rawRequest(target, `X-Hostile: before${byte}after-secret`);
    expect(response.status).toBe(400);
    expect(response.body).toContain('x-hostile');
    expect(response.body).not.toContain('after-secret');
    expect(origin.saw(target)).toBe(false);
    expect(log.join('')).not.toContain('unreachable');
  });

  it('is forwarded when it is a tab, which a header value may hold', async () => {
    const response = await rawRequest('/hostile/4', 'X-Spaced: a\tb');
    expect(response.status).toBe(200);
    expect(origin.heads.find((h) => h.startsWith('GET /hostile/4 '))).toMatch(/x-spaced: a\tb/i);
  });
});
