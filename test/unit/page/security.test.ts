import { describe, expect, it } from 'vitest';
import { esiPage, gatewayFor, html, upstream } from '../harness';

describe('ESI opt-in', () => {
  const body = '<esi:include src="/f"/><div data-slot="s">s</div>';
  const routes = { '/f': () => html('F'), '/s': () => html('S') };
  const fragments = { s: { src: '/s' } };

  it('with esi: auto, processes ESI only when the origin sends Surrogate-Control', async () => {
    const plain = upstream({ '/page': () => html(body), ...routes });
    expect(await (await gatewayFor(plain, { route: '/page', fragments })('/page')).text()).toBe('<esi:include src="/f"/><div data-slot="s">S</div>');
    expect(plain.requested('/f')).toHaveLength(0);

    const optedIn = upstream({ '/page': () => esiPage(body), ...routes });
    expect(await (await gatewayFor(optedIn, { route: '/page', fragments })('/page')).text()).toBe('F<div data-slot="s">S</div>');
  });

  it('with esi: on, processes ESI without the header; with esi: off, never', async () => {
    const on = upstream({ '/page': () => html(body), ...routes });
    expect(await (await gatewayFor(on, { route: '/page', esi: 'on', fragments })('/page')).text()).toBe('F<div data-slot="s">S</div>');
    const off = upstream({ '/page': () => esiPage(body), ...routes });
    expect(await (await gatewayFor(off, { route: '/page', esi: 'off', fragments })('/page')).text()).toBe('<esi:include src="/f"/><div data-slot="s">S</div>');
    expect(off.requested('/f')).toHaveLength(0);
  });
});

describe('SSRF: fragments come only from the origin or listed hosts', () => {
  const include = (src: string) =>
    upstream({
      '/page': () => esiPage(`[<esi:include src="${src}"/>]`),
      'https://pricing.test/p': () => html('price'),
      'http://pricing.test/p': () => html('plain-http'),
      'https://pricing.test:8443/p': () => html('other-port'),
      'http://169.254.169.254/latest': () => html('metadata'),
      'http://127.0.0.1/admin': () => html('loopback'),
    });
  const route = { route: '/page', hosts: ['pricing.test'] };

  it.each([
    ['a host not listed', 'https://evil.test/x'],
    ['the cloud metadata address', 'http://169.254.169.254/latest'],
    ['loopback', 'http://127.0.0.1/admin'],
    ['a listed host on another scheme', 'http://pricing.test/p'],
    ['a listed host on another port', 'https://pricing.test:8443/p'],
    ['a protocol-relative URL to another host', '//evil.test/x'],
    ['a non-http scheme', 'file:///etc/passwd'],
  ])('refuses %s without fetching it', async (_, src) => {
    const net = include(src);
    const response = await gatewayFor(net, route)('/page');
    expect(await response.text()).toBe('[]');
    expect(net.calls.map((c) => c.url)).toEqual(['https://origin.test/page']);
    expect(response.headers.get('server-timing')).toBeTruthy();
  });

  it('fetches from a listed host', async () => {
    const net = include('https://pricing.test/p');
    expect(await (await gatewayFor(net, route)('/page')).text()).toBe('[price]');
  });

  it('URL-encodes substituted values, so a template cannot be steered to another host', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="f"></div>'), '/https%3A%2F%2Fevil.test%2F': () => html('encoded') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/{query.target}' } } });
    expect(await (await get('/page?target=https%3A%2F%2Fevil.test%2F')).text()).toBe('<div data-slot="f">encoded</div>');
    expect(net.calls.map((c) => c.url)).toEqual([
      'https://origin.test/page?target=https%3A%2F%2Fevil.test%2F',
      'https://origin.test/https%3A%2F%2Fevil.test%2F',
    ]);
  });

  it('reports a refused declared fragment in Server-Timing, and fails the page if it is required', async () => {
    // A literal host that is not listed is refused when the manifest is built; a host from a variable, here.
    const net = upstream({ '/page': () => html('<div data-slot="f"></div>') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: 'https://{query.h}/x', required: true } } });
    const response = await get('/page?h=evil.test');
    expect(response.status).toBe(502);
    expect(response.headers.get('server-timing')).toMatch(/fragment\.f;dur=\d+;desc="refused"/);
    expect(net.calls).toHaveLength(1);
  });
});

describe('fragment redirects', () => {
  it('follows a redirect within the allowed hosts', async () => {
    const net = upstream({
      '/page': () => esiPage('[<esi:include src="/moved"/>]'),
      '/moved': () => new Response(null, { status: 301, headers: { location: 'https://pricing.test/p' } }),
      'https://pricing.test/p': () => html('moved here'),
    });
    expect(await (await gatewayFor(net, { route: '/page', hosts: ['pricing.test'] })('/page')).text()).toBe('[moved here]');
  });

  it('refuses a redirect to anywhere else, without fetching it', async () => {
    const net = upstream({
      '/page': () => html('<div data-slot="f">own</div>'),
      '/f': () => new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data' } }),
      'http://169.254.169.254/latest/meta-data': () => html('secrets'),
    });
    const response = await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', fallback: 'keep' } } })('/page');
    expect(await response.text()).toBe('<div data-slot="f">own</div>');
    expect(net.calls.map((c) => c.url)).toEqual(['https://origin.test/page', 'https://origin.test/f']);
  });
});

describe('request headers sent to fragment hosts', () => {
  it('sends only the declared forwardHeaders', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="a"></div><div data-slot="b"></div>'), '/a': () => html('a'), '/b': () => html('b') });
    const get = gatewayFor(net, { route: '/page', fragments: { a: { src: '/a', forwardHeaders: ['cookie', 'Accept-Language'] }, b: { src: '/b' } } });
    await (await get('/page', { headers: { cookie: 'sid=1', authorization: 'Bearer t', 'accept-language': 'de' } })).text();
    const [a] = net.requested('/a');
    const [b] = net.requested('/b');
    expect(a.headers.get('cookie')).toBe('sid=1');
    expect(a.headers.get('accept-language')).toBe('de');
    expect(a.headers.get('authorization')).toBeNull();
    expect(b.headers.get('cookie')).toBeNull();
    expect(b.headers.get('authorization')).toBeNull();
  });
});

describe('open proxy: the request path never picks the upstream host', () => {
  const attacker = () => html('<p>attacker page</p>');
  const net = () =>
    upstream({
      'http://127.0.0.2:9999/x': attacker,
      'https://127.0.0.2:9999/x': attacker,
      'https://evil.test/x': attacker,
      '/page': () => html('<p>page</p>'),
    });
  const paths = ['//127.0.0.2:9999/x', '///127.0.0.2:9999/x', '/\\127.0.0.2:9999/x', '/\\/127.0.0.2:9999/x', '//evil.test/x', '/%2F%2Fevil.test/x'];
  const credentials = { cookie: 'sid=secret', authorization: 'Bearer secret' };

  it.each(paths.flatMap((path) => ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'].map((method) => [method, path])))(
    '%s %s on an unmatched path goes to the origin',
    async (method, path) => {
      const network = net();
      const response = await gatewayFor(network, { route: '/page' })(path, {
        method,
        headers: credentials,
        body: method === 'POST' || method === 'PUT' ? 'b' : undefined,
      });
      await response.arrayBuffer();
      expect(network.calls.map((c) => new URL(c.url).origin)).toEqual(['https://origin.test']);
    },
  );

  it.each(paths)('GET %s on a catch-all assembled route goes to the origin', async (path) => {
    const network = net();
    const response = await gatewayFor(network, { route: '/*', fragments: { f: { src: '/f' } } })(path, { headers: credentials });
    await response.arrayBuffer();
    expect(network.calls.map((c) => new URL(c.url).origin)).toEqual(['https://origin.test', 'https://origin.test']);
  });

  it('keeps the path as a path on the origin', async () => {
    const network = net();
    await (await gatewayFor(network, { route: '/page' })('//127.0.0.2:9999/x?q=1')).arrayBuffer();
    expect(network.calls[0].url).toBe('https://origin.test//127.0.0.2:9999/x?q=1');
  });
});

describe('template values', () => {
  it.each([
    ['query', '/page?x=..', '/q/{query.x}/end'],
    ['query', '/page?x=.', '/q/{query.x}/end'],
    ['query', '/page?x=%2e%2e', '/q/{query.x}/end'],
    ['header', '/page', '/q/{header.x-part}/end'],
    ['cookie', '/page', '/q/{cookie.part}/end'],
  ])('a {%s} value of . or .. is refused and the fragment falls back', async (_, path, src) => {
    // (A route parameter cannot be . or ..: the URL parser folds such segments before routing.)
    const net = upstream({ '/page': () => html('<div data-slot="f">own</div>'), '/end': () => html('escaped!') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src, fallback: 'keep' } } });
    const response = await get(path, { headers: { 'x-part': '..', cookie: 'part=..' } });
    expect(await response.text()).toBe('<div data-slot="f">own</div>');
    expect(net.calls).toHaveLength(1);
    expect(response.headers.get('server-timing')).toMatch(/fragment\.f;dur=\d+;desc="fallback";cause="error"/);
  });

  it('encodes route parameters exactly once', async () => {
    const net = upstream({ '/p/caf%C3%A9': () => html('<div data-slot="f"></div>'), '/q/caf%C3%A9': () => html('café') });
    const get = gatewayFor(net, { route: '/p/:id', fragments: { f: { src: '/q/{params.id}' } } });
    expect(await (await get('/p/caf%C3%A9')).text()).toBe('<div data-slot="f">café</div>');
    expect(net.calls.map((c) => c.url)).toEqual(['https://origin.test/p/caf%C3%A9', 'https://origin.test/q/caf%C3%A9']);
  });

  it('keeps a value with slashes inside its own path segment', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="f"></div>'), '/q/..%2Fadmin/end': () => html('segment') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/q/{query.x}/end' } } });
    expect(await (await get('/page?x=../admin')).text()).toBe('<div data-slot="f">segment</div>');
  });
});

describe('credentials across fragment redirects', () => {
  const forwarded = { cookie: 'sid=1', authorization: 'Bearer t', 'x-api-key': 'k', 'accept-language': 'de' };
  const page = () => html('<div data-slot="f"></div>');

  it('are dropped when a redirect changes host, keeping only content negotiation', async () => {
    const net = upstream({
      '/page': page,
      '/f': () => new Response(null, { status: 302, headers: { location: 'https://pricing.test/p' } }),
      'https://pricing.test/p': () => html('moved'),
    });
    const get = gatewayFor(net, { route: '/page', hosts: ['pricing.test'], fragments: { f: { src: '/f', forwardHeaders: Object.keys(forwarded) } } });
    expect(await (await get('/page', { headers: forwarded })).text()).toBe('<div data-slot="f">moved</div>');
    const [first] = net.requested('/f');
    const [moved] = net.requested('/p');
    expect(first.headers.get('cookie')).toBe('sid=1');
    expect([moved.headers.get('cookie'), moved.headers.get('authorization'), moved.headers.get('x-api-key')]).toEqual([null, null, null]);
    expect(moved.headers.get('accept-language')).toBe('de');
  });

  it('are kept on a redirect within the same host', async () => {
    const net = upstream({ '/page': page, '/f': () => new Response(null, { status: 302, headers: { location: '/g' } }), '/g': () => html('g') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', forwardHeaders: ['cookie'] } } });
    await (await get('/page', { headers: forwarded })).text();
    expect(net.requested('/g')[0].headers.get('cookie')).toBe('sid=1');
  });
});

describe('fragment content types', () => {
  const page = () => html('<div data-slot="f">own</div>');
  // Bytes, not a string: a string body would get text/plain by default.
  const answer = (type: string | null, body: string) => () => new Response(new TextEncoder().encode(body), { headers: type ? { 'content-type': type } : {} });

  it.each([
    ['application/octet-stream', answer('application/octet-stream', 'binary')],
    ['image/png', answer('image/png', '\x89PNG')],
  ])('refuses %s and falls back', async (_, fragment) => {
    const net = upstream({ '/page': page, '/f': fragment });
    const response = await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', fallback: 'keep', required: true } }, onFailure: { status: 503 } })(
      '/page',
    );
    // Required, so it has settled before the headers: its cause is in Server-Timing.
    expect(response.status).toBe(503);
    expect(response.headers.get('server-timing')).toMatch(/fragment\.f;dur=\d+;desc="fallback";cause="error"/);
    const optional = await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', fallback: 'keep' } } })('/page');
    expect(await optional.text()).toBe('<div data-slot="f">own</div>');
  });

  it('inserts text/plain as text, escaped', async () => {
    const net = upstream({ '/page': page, '/f': answer('text/plain; charset=utf-8', '<b>1 < 2</b>') });
    expect(await (await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' } } })('/page')).text()).toBe(
      '<div data-slot="f">&#60;b&#62;1 &#60; 2&#60;/b&#62;</div>',
    );
  });

  it('accepts what the manifest lists instead', async () => {
    const net = upstream({ '/page': page, '/f': answer('application/xhtml+xml', '<b>x</b>') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', contentTypes: ['application/xhtml+xml'] } } });
    expect(await (await get('/page')).text()).toBe('<div data-slot="f"><b>x</b></div>');
  });
});

describe('dev overrides', () => {
  it('are ignored outside tessera dev, since they go around the host rule', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="f"></div>'), '/f': () => html('REMOTE'), 'http://127.0.0.1:9/f': () => html('LOCAL') });
    const overrides = JSON.stringify({ fragments: { f: 'http://127.0.0.1:9/f' }, hosts: {} });
    const deployed = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' } } }, { env: { TESSERA_OVERRIDES: overrides } });
    expect(await (await deployed('/page')).text()).toBe('<div data-slot="f">REMOTE</div>');
    const dev = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' } } }, { env: { TESSERA_OVERRIDES: overrides, TESSERA_DEV: 'true' } });
    expect(await (await dev('/page')).text()).toBe('<div data-slot="f">LOCAL</div>');
  });
});

describe('a request header holding a control character', () => {
  const net = () => upstream({ '/page': () => html('<div data-slot="f"></div>'), '/f': () => html('F'), '/file.css': () => new Response('css') });
  const manifest = { route: '/page', fragments: { f: { src: '/f', forwardHeaders: ['x-hostile'] } } };

  it.each([
    ['a composed page', 'GET', '/page', '\x01'],
    ['a composed page', 'GET', '/page', '\x7f'],
    ['a proxied path', 'GET', '/file.css', '\x1f'],
    ['another method', 'POST', '/page', '\x08'],
  ])('on %s (%s %s) is answered 400 naming the header but not its value, and nothing is fetched', async (_, method, path, byte) => {
    const upstreams = net();
    const response = await gatewayFor(upstreams, manifest)(path, { method, headers: { 'x-hostile': `before${byte}after-secret` } });
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toContain('x-hostile');
    expect(body).not.toContain('after-secret');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(upstreams.calls).toEqual([]);
  });

  it('is forwarded when it is a tab, which a header value may hold', async () => {
    const upstreams = net();
    const response = await gatewayFor(upstreams, manifest)('/page', { headers: { 'x-hostile': 'a\tb' } });
    expect(await response.text()).toBe('<div data-slot="f">F</div>');
    expect(upstreams.requested('/f')[0].headers.get('x-hostile')).toBe('a\tb');
  });
});
