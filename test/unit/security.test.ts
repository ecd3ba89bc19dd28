import { describe, expect, it } from 'vitest';
import { esiPage, gatewayFor, html, upstream } from './harness';

describe('ESI opt-in', () => {
  const body = '<esi:include src="/f"/><div data-slot="s">s</div>';
  const routes = { '/f': () => html('F'), '/s': () => html('S') };
  const fragments = { s: { src: '/s' } };

  it('with esi: auto, processes ESI only when the origin sends Surrogate-Control', async () => {
    const plain = upstream({ '/page': () => html(body), ...routes });
    expect(await (await gatewayFor(plain, { route: '/page', fragments })('/page')).text()).toBe(
      '<esi:include src="/f"/><div data-slot="s">S</div>',
    );
    expect(plain.requested('/f')).toHaveLength(0);

    const optedIn = upstream({ '/page': () => esiPage(body), ...routes });
    expect(await (await gatewayFor(optedIn, { route: '/page', fragments })('/page')).text()).toBe('F<div data-slot="s">S</div>');
  });

  it('with esi: on, processes ESI without the header; with esi: off, never', async () => {
    const on = upstream({ '/page': () => html(body), ...routes });
    expect(await (await gatewayFor(on, { route: '/page', esi: 'on', fragments })('/page')).text()).toBe('F<div data-slot="s">S</div>');
    const off = upstream({ '/page': () => esiPage(body), ...routes });
    expect(await (await gatewayFor(off, { route: '/page', esi: 'off', fragments })('/page')).text()).toBe(
      '<esi:include src="/f"/><div data-slot="s">S</div>',
    );
    expect(off.requested('/f')).toHaveLength(0);
  });
});

describe('SSRF: fragments come only from the origin or listed hosts', () => {
  const include = (src: string) => upstream({
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
    expect(net.calls.map((c) => c.url)).toEqual(['https://origin.test/page?target=https%3A%2F%2Fevil.test%2F', 'https://origin.test/https%3A%2F%2Fevil.test%2F']);
  });

  it('reports a refused declared fragment in Server-Timing, and fails the page if it is required', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="f"></div>') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: 'https://evil.test/x', required: true } } });
    const response = await get('/page');
    expect(response.status).toBe(502);
    expect(response.headers.get('server-timing')).toContain('fragment.f;dur=0;desc="refused"');
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
