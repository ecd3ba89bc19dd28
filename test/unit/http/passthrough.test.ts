import { describe, expect, it } from 'vitest';
import { esiPage, gatewayFor, html, upstream } from '../harness';

// workerd implements Headers#getSetCookie; this workers-types release does not declare it.
const setCookies = (r: Response) => (r.headers as unknown as { getSetCookie(): string[] }).getSetCookie();

const manifest = { route: '/page', fragments: { f: { src: '/f' } } };

describe('transparent proxy', () => {
  it('proxies unmatched paths with status, headers and body untouched', async () => {
    const net = upstream({
      '/other': () => new Response('<div data-slot="f">raw</div>', { status: 418, headers: { 'content-type': 'text/html', 'x-origin': 'yes' } }),
    });
    const response = await gatewayFor(net, manifest)('/other?q=1');
    expect(response.status).toBe(418);
    expect(response.headers.get('x-origin')).toBe('yes');
    expect(await response.text()).toBe('<div data-slot="f">raw</div>');
    expect(net.calls[0].url).toBe('https://origin.test/other?q=1');
  });

  it('forwards request bodies of other methods, even on matched routes, and fetches no fragment for an answer that is not a page', async () => {
    const net = upstream({
      '/page': async (request) => new Response(`${request.method}:${await request.text()}`, { status: 201 }),
    });
    const response = await gatewayFor(net, manifest)('/page', {
      method: 'POST',
      body: 'a=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('POST:a=1');
    expect(net.requested('/f')).toHaveLength(0);
  });

  it('answers HEAD on a matched page with the headers its assembled GET would have', async () => {
    const net = upstream({ '/page': () => html('', { 'content-length': '120', etag: '"strong"', 'x-app': '1' }) });
    const response = await gatewayFor(net, manifest)('/page', { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('x-app')).toBe('1');
    expect(net.calls[0].url).toBe('https://origin.test/page');
    expect(net.requested('/f')).toHaveLength(0);
  });

  it('hands redirects to the client instead of following them', async () => {
    const net = upstream({ '/page': () => new Response(null, { status: 302, headers: { location: '/elsewhere' } }) });
    const response = await gatewayFor(net, manifest)('/page');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/elsewhere');
  });

  it('passes non-HTML and non-2xx responses of matched routes through unassembled', async () => {
    const json = upstream({ '/page': () => Response.json({ slot: '<div data-slot="f"></div>' }) });
    expect(await (await gatewayFor(json, manifest)('/page')).json()).toEqual({ slot: '<div data-slot="f"></div>' });
    const missing = upstream({ '/page': () => html('<div data-slot="f">gone</div>', {}, 404), '/f': () => html('F') });
    const response = await gatewayFor(missing, manifest)('/page');
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('<div data-slot="f">gone</div>');
  });

  it('strips hop-by-hop headers in both directions', async () => {
    const net = upstream({
      '/other': () => new Response('ok', { headers: { connection: 'x-private', 'x-private': '1', 'keep-alive': 'timeout=5', 'x-kept': '1' } }),
    });
    const response = await gatewayFor(net, manifest)('/other', { headers: { 'proxy-authorization': 'secret', 'x-client': 'c' } });
    expect(response.headers.get('keep-alive')).toBeNull();
    expect(response.headers.get('x-private')).toBeNull();
    expect(response.headers.get('x-kept')).toBe('1');
    expect(net.calls[0].headers.get('proxy-authorization')).toBeNull();
    expect(net.calls[0].headers.get('x-client')).toBe('c');
  });

  it('answers 502 when the origin cannot be reached', async () => {
    const net = upstream({ '/page': () => Promise.reject(new Error('connect ECONNREFUSED')) });
    const response = await gatewayFor(net, manifest)('/page');
    expect(response.status).toBe(502);
  });
});

describe('assembled response headers', () => {
  it("drops content-length, content-encoding and the origin's validators, and keeps every origin cookie", async () => {
    const origin = () => {
      const headers = new Headers({ 'content-type': 'text/html', etag: '"abc"', 'content-length': '27', 'content-encoding': 'gzip', 'x-app': '1' });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      return new Response('<div data-slot="f">x</div>', { headers });
    };
    const net = upstream({ '/page': origin, '/f': () => html('F', { 'set-cookie': 'fragment=1' }) });
    const response = await gatewayFor(net, manifest)('/page');
    expect(response.headers.get('etag')).toBeNull();
    expect(response.headers.get('content-length')).toBeNull();
    // The body is decoded text now; re-encoding in workerd would buffer the stream.
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('x-app')).toBe('1');
    expect(setCookies(response)).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(await response.text()).toBe('<div data-slot="f">F</div>');

    // Even a weak ETag or a Last-Modified would describe the origin's page, not one whose fragments may have changed.
    const weak = upstream({ '/page': () => html('<p></p>', { etag: 'W/"v1"', 'last-modified': 'Sun, 22 Nov 2026 10:00:00 GMT' }) });
    const assembled = await gatewayFor(weak, manifest)('/page');
    expect([assembled.headers.get('etag'), assembled.headers.get('last-modified')]).toEqual([null, null]);
  });

  it('reports the origin and every fragment in Server-Timing', async () => {
    const net = upstream({
      '/page': () => esiPage('<div data-slot="f"></div><esi:include src="https://evil.test/x"/>'),
      '/f': () => html('F'),
    });
    const response = await gatewayFor(net, { ...manifest, fragments: { f: { src: '/f', required: true } } })('/page');
    const timing = response.headers.get('server-timing')!;
    expect(timing).toMatch(/^origin;dur=\d+, fragment\.f;dur=\d+;desc="miss"/);
    expect(response.headers.get('surrogate-control')).toBeNull();
    await response.text();
  });

  it('advertises ESI capability to the origin', async () => {
    const net = upstream({ '/page': () => html('<p></p>') });
    await (await gatewayFor(net, manifest)('/page')).text();
    expect(net.calls[0].headers.get('surrogate-capability')).toBe('tessera="ESI/1.0"');
  });
});

describe('a WebSocket handshake', () => {
  it('reaches the origin with its upgrade headers, but never with the client X-Forwarded-Host or the debug switch', async () => {
    const net = upstream({ '/ws': () => new Response('switching', { status: 200 }) });
    const get = gatewayFor(net, { route: '/page' }, { env: { PUBLIC_HOST: 'shop.example' } });
    await get('/ws', { headers: { upgrade: 'websocket', connection: 'Upgrade', 'x-forwarded-host': 'evil.test', 'x-tessera-debug': 'token' } });
    const [call] = net.requested('/ws');
    expect(call.headers.get('upgrade')).toBe('websocket');
    expect(call.headers.get('x-forwarded-host')).toBe('shop.example');
    expect(call.headers.get('x-tessera-debug')).toBeNull();
  });
});
