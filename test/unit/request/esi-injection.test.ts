import { afterEach, describe, expect, it, vi } from 'vitest';
import { esiMarkupIn } from '../../../gateway/request/esi-injection';
import { esiPage, gatewayFor, upstream } from '../harness';

afterEach(() => vi.restoreAllMocks());

/** An origin that reflects its query into an ESI page unescaped: the page ESI injection needs. */
function reflectingOrigin() {
  return upstream({
    '/search': (_, url) => esiPage(`<p>You searched for ${url.searchParams.get('q')}</p><p>${url.searchParams.get('n') ?? ''}</p>`),
    '/internal/admin': () => new Response('SECRET ADMIN PAGE', { headers: { 'content-type': 'text/html' } }),
  });
}

describe('ESI injection', () => {
  it.each([
    ['an include of an internal URL', '<esi:include src="/internal/admin"/>'],
    ['a print of an HttpOnly cookie', '<esi:vars>$(HTTP_COOKIE{session})</esi:vars>'],
    ['an ESI comment block', '<!--esi <esi:include src="/internal/admin"/> -->'],
  ])('refuses %s in the query, raw or encoded, and never runs it', async (_, markup) => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const net = reflectingOrigin();
    const get = gatewayFor(net, { route: '/search', esi: 'on' });
    for (const q of [encodeURIComponent(markup), encodeURIComponent(encodeURIComponent(markup)), encodeURIComponent(markup.replace(/</g, '&lt;'))]) {
      const response = await get(`/search?q=${q}`, { headers: { cookie: 'session=s3cret' } });
      const body = await response.text();
      expect(response.status).toBe(400);
      expect(body).not.toContain('SECRET');
      expect(body).not.toContain('s3cret');
      expect(body).not.toContain('<esi:');
    }
    expect(net.requested('/internal/admin')).toHaveLength(0);
    expect(net.requested('/search')).toHaveLength(0);
    expect(logged.mock.calls.map(([line]) => String(line)).join('\n')).toMatch(/ESI injection/);
  });

  it('finds ESI markup wherever the visitor can put it, however it is written', () => {
    const at = (path: string, headers: Record<string, string> = {}) =>
      esiMarkupIn(new Request(`https://shop.test${path}`, { headers }), new URL(`https://shop.test${path}`));
    expect(at('/p/%3Cesi:include%20src=x%3E')).toBe('path');
    expect(at('/p?q=%253CESI%253Ainclude')).toBe('query');
    expect(at('/p?q=%26%2360%3Besi:vars')).toBe('query');
    expect(at('/p?q=\\u003cesi:include')).toBe('query');
    expect(at('/p', { cookie: 'x=%3C%2Fesi%3Atry%3E' })).toBe('header cookie');
    expect(at('/p', { 'user-agent': 'Mozilla <!--esi x -->' })).toBe('header user-agent');
    // What honest requests carry.
    expect(at('/products/esi-shoes?q=less+than+%3C+5&s=a%26b', { cookie: 'esi=1', 'accept-language': 'de' })).toBeUndefined();
  });

  it('leaves requests to routes that never run ESI alone', async () => {
    const net = reflectingOrigin();
    const response = await gatewayFor(net, { route: '/search', esi: 'off' })(`/search?q=${encodeURIComponent('<esi:include src="/x"/>')}`);
    expect(response.status).toBe(200);
  });
});

describe('ESI injection through a form', () => {
  /** An origin that echoes a posted field into an ESI page, unescaped: the commonest reflection of all. */
  function echoingOrigin() {
    return upstream({
      '/comment': async (request) => {
        const text = new URLSearchParams(await request.text()).get('comment') ?? '';
        return esiPage(`<p>You wrote: ${text}</p>`);
      },
      '/internal/admin': () => new Response('SECRET ADMIN PAGE', { headers: { 'content-type': 'text/html' } }),
    });
  }

  it('refuses a posted body carrying ESI markup, raw or encoded, and never runs it', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const net = echoingOrigin();
    const get = gatewayFor(net, { route: '/comment', esi: 'on' });
    for (const markup of ['<esi:include src="/internal/admin"/>', '<esi:vars>$(HTTP_COOKIE{session})</esi:vars>']) {
      const form = `name=eve&comment=${encodeURIComponent(markup)}`;
      const response = await get('/comment', {
        method: 'POST',
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'session=s3cret' },
      });
      const body = await response.text();
      expect(response.status).toBe(400);
      expect(body).not.toContain('SECRET');
      expect(body).not.toContain('s3cret');
    }
    expect(net.requested('/internal/admin')).toHaveLength(0);
  });

  it('finds markup cut across the chunks of a streamed body', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const net = echoingOrigin();
    const encoder = new TextEncoder();
    const parts = ['comment=hello%20%3Ces', 'i%3Ainclude%20src%3D%22%2Finternal%2Fadmin%22%2F%3E'];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(encoder.encode(part));
        controller.close();
      },
    });
    const response = await gatewayFor(net, { route: '/comment', esi: 'on' })('/comment', { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(400);
    expect(net.requested('/internal/admin')).toHaveLength(0);
  });

  it('assembles an honest form the same as before', async () => {
    const net = echoingOrigin();
    const response = await gatewayFor(net, { route: '/comment', esi: 'on' })('/comment', { method: 'POST', body: 'comment=less+than+%3C+5' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('<p>You wrote: less than < 5</p>');
  });
});
