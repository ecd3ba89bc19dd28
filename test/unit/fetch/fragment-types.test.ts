import { describe, expect, it, vi } from 'vitest';
import { esiPage, gatewayFor, html, upstream } from '../harness';

/** A body with no Content-Type at all, as Varnish backends and many nginx locations send it. */
function untyped(body: string): Response {
  const response = new Response(body);
  response.headers.delete('content-type');
  return response;
}

describe('a fragment without a Content-Type', () => {
  it('is inserted as markup, as every ESI engine inserts it (cloudflare-esi, Varnish, Akamai)', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/n"/>\n<esi:include src="/n"/>\n<div data-slot="s">own</div>'),
      '/n': () => untyped('<b>1</b>'),
      '/s': () => untyped('<i>slot</i>'),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { s: { src: '/s' } } });
    expect(await (await get('/page')).text()).toBe('<b>1</b>\n<b>1</b>\n<div data-slot="s"><i>slot</i></div>');
  });

  it('does not make a declared type that is not text acceptable: JSON is still refused, and the log says why', async () => {
    const errors = vi.spyOn(console, 'log').mockImplementation(() => {});
    const net = upstream({
      '/page': () => html('<div data-slot="s">own</div>'),
      '/s': () => new Response('{"a":1}', { headers: { 'content-type': 'application/json' } }),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { s: { src: '/s', fallback: 'keep' } } }, { env: { TESSERA_LOG: 'timing' } });
    const response = await get('/page');
    expect(await response.text()).toBe('<div data-slot="s">own</div>');
    await response.settled();
    expect(errors.mock.calls.map(([line]) => String(line)).join('\n')).toMatch(/content-type application\/json is not accepted/);
    errors.mockRestore();
  });
});
