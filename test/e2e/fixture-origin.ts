import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';

/**
 * A real origin on 127.0.0.1 for end-to-end tests. Fragments behind a gate
 * answer only when the test opens it, so ordering claims are checked without
 * relying on timings.
 */
export async function startFixtureOrigin() {
  const gates = new Map<string, () => void>();
  const opened = new Map<string, Promise<void>>();
  const gate = (name: string) => {
    if (!opened.has(name)) opened.set(name, new Promise((resolve) => gates.set(name, resolve)));
    return opened.get(name)!;
  };
  const requests: string[] = [];

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    requests.push(url.pathname);
    const send = (body: string, headers: Record<string, string> = {}, status = 200) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(body);
    };
    const esi = { 'surrogate-control': 'content="ESI/1.0"' };
    switch (url.pathname) {
      case '/page':
        res.setHeader('set-cookie', ['session=abc; Path=/; HttpOnly', 'theme=dark; Path=/']);
        return send(
          '<html><head><title>Fixture</title></head><body><esi:include src="/frag/gated"/><div data-slot="price">€1</div><esi:include src="/frag/cookie"/></body></html>',
          esi,
        );
      case '/gzip':
      case '/br': {
        const page = '<html><head></head><body><p>Zürich ✓</p><esi:include src="/frag/fast"/></body></html>';
        const body = url.pathname === '/gzip' ? gzipSync(page) : brotliCompressSync(page);
        const encoding = url.pathname === '/gzip' ? 'gzip' : 'br';
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': encoding, 'content-length': String(body.length), ...esi });
        return res.end(body);
      }
      case '/utf8': {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...esi });
        const bytes = Buffer.from('<p>Grüße — 日本 😀</p><esi:include src="/frag/fast"/>');
        for (let i = 0; i < bytes.length; i += 3) {
          res.write(bytes.subarray(i, i + 3));
          await new Promise((r) => setTimeout(r, 2));
        }
        return res.end();
      }
      case '/frag/gated':
        await gate('gated');
        return send('<p>gated</p>');
      case '/frag/cookie':
        return send('<p>with cookie</p>', { 'set-cookie': 'fragment=leak; Path=/' });
      case '/frag/fast':
        return send('<b>fast ñ</b>');
      case '/cached':
        return send('<div data-slot="counted"></div>');
      case '/frag/counted':
        return send(`<i>counted ${requests.filter((p) => p === '/frag/counted').length}</i>`);
      case '/frag/price':
        return send(`€${url.searchParams.get('v') ?? '2'}`);
      case '/echo': {
        let body = '';
        for await (const chunk of req) body += chunk;
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(`${req.method} ${body}`);
      }
      default:
        return send('not found', {}, 404);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    open: (name: string) => {
      void gate(name);
      gates.get(name)!();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
