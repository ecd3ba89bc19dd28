import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CATALOGUE, fragmentRoutes } from './demo-fragments';
import { homePage, productPage } from './demo-pages';

/**
 * The embedded demo origin: a small shop that renders pages with ESI includes
 * and data-slot markers, and serves the fragment endpoints they name — with
 * realistic latency, one slow fragment, one that fails and one that times
 * out, so every fallback is visible through the gateway.
 */
export interface DemoOrigin {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startDemoOrigin({ port = 0, host = '127.0.0.1' } = {}): Promise<DemoOrigin> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://demo.local');
  const page = (html: string) => {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      // Opts the page in to ESI processing (Edge Architecture 1.0).
      'surrogate-control': 'content="ESI/1.0"',
      'cache-control': 'public, max-age=60',
    });
    res.end(html);
  };

  if (url.pathname === '/') return page(homePage());
  const product = /^\/products\/([\w-]+)$/.exec(url.pathname);
  if (product) {
    const item = CATALOGUE[product[1]];
    if (!item) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end('<!doctype html><title>Not found</title><h1>No such product</h1>');
    }
    return page(productPage(product[1], item));
  }
  if (url.pathname === '/old-products') {
    res.writeHead(301, { location: '/' });
    return void res.end();
  }
  if (url.pathname === '/api/cart' && req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += chunk;
    res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': 'cart=1; Path=/' });
    return void res.end(JSON.stringify({ added: JSON.parse(body || '{}') }));
  }
  for (const route of fragmentRoutes) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    if (route.delayMs) await new Promise((r) => setTimeout(r, route.delayMs));
    const reply = route.render(match, url, req);
    res.writeHead(reply.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...reply.headers });
    return void res.end(reply.html);
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}

// `node --import tsx fragments/demo-origin.ts [port]` runs the origin on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const origin = await startDemoOrigin({ port: Number(process.argv[2] ?? 8788) });
  console.log(`demo origin on ${origin.url}`);
}
