import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ASSET_DELAY_MS, ASSETS } from './demo-assets';
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

/**
 * `assetsInMarkup`: each fragment links its stylesheets and scripts in its own
 * markup instead of naming them in a Link header or the manifest, as
 * fragments are written where the gateway does nothing with assets
 * (bench/fragment-assets.ts compares the two).
 */
export async function startDemoOrigin({ port = 0, host = '127.0.0.1', assetsInMarkup = false } = {}): Promise<DemoOrigin> {
  const server = createServer((req, res) => {
    handle(req, res, assetsInMarkup).catch((error) => {
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

async function handle(req: IncomingMessage, res: ServerResponse, assetsInMarkup: boolean): Promise<void> {
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
  const asset = ASSETS[url.pathname];
  if (asset) {
    await new Promise((r) => setTimeout(r, ASSET_DELAY_MS));
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'public, max-age=300' });
    return void res.end(asset.body);
  }
  for (const route of fragmentRoutes) {
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    if (route.delayMs) await new Promise((r) => setTimeout(r, route.delayMs));
    const reply = route.render(match, url, req);
    const { assets = [], declared = [] } = reply;
    const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8', ...reply.headers };
    let html = reply.html;
    if (assetsInMarkup) {
      const all = [...declared, ...assets];
      const styles = all.filter((a) => a.endsWith('.css')).map((a) => `<link rel="stylesheet" href="${a}">`);
      const scripts = all.filter((a) => a.endsWith('.js')).map((a) => `<script src="${a}" defer></script>`);
      html = styles.join('') + html + scripts.join('');
    } else if (assets.length) {
      // Stylesheets, then scripts; a parameter without a value (defer) only ever ends the header's last link.
      const styles = assets.filter((a) => a.endsWith('.css')).map((a) => `<${a}>; rel=stylesheet`);
      const scripts = assets.filter((a) => a.endsWith('.js')).map((a, i, all) => `<${a}>; rel=script; ${i === all.length - 1 ? 'defer' : 'defer=defer'}`);
      headers.link = [...styles, ...scripts].join(', ');
    }
    res.writeHead(reply.status ?? 200, headers);
    return void res.end(html);
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}

// `node --import tsx fragments/demo-origin.ts [port]` runs the origin on its own.
if (import.meta.url === `file://${process.argv[1]}`) {
  const origin = await startDemoOrigin({ port: Number(process.argv[2] ?? 8788) });
  console.log(`demo origin on ${origin.url}`);
}
