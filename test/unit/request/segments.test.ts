import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, gatewayFor, html, upstream } from '../harness';

beforeAll(async () => {
  await env.SEGMENTS.put('user:alice', 'gold');
  await env.SEGMENTS.put('user:bob', 'gold');
  await env.SEGMENTS.put('user:carol', 'silver');
});

describe('segments', () => {
  const offers = () =>
    upstream({
      '/page': () => html('<div data-slot="offers"></div>', { 'cache-control': 'public, max-age=60' }),
      '/offers/gold': () => html('gold offers'),
      '/offers/silver': () => html('silver offers'),
      '/offers/anonymous': () => html('everyone’s offers'),
    });
  const manifest = { route: '/page', segment: 'cookie.uid', fragments: { offers: { src: '/offers/{segment|anonymous}', ttl: '1m' } } };

  it('caches a personalised fragment per segment, not per user, and keeps the page private', async () => {
    const net = offers();
    const get = gatewayFor(net, manifest, { env: { SEGMENTS: env.SEGMENTS } });
    const visit = async (uid?: string) => {
      const response = await get('/page', uid ? { headers: { cookie: `uid=${uid}` } } : {});
      const body = await response.text();
      await response.settled();
      return [body, response.headers.get('cache-control')];
    };
    expect(await visit('alice')).toEqual(['<div data-slot="offers">gold offers</div>', 'max-age=60, private']);
    expect((await visit('bob'))[0]).toBe('<div data-slot="offers">gold offers</div>');
    expect((await visit('carol'))[0]).toBe('<div data-slot="offers">silver offers</div>');
    expect((await visit('mallory'))[0]).toBe('<div data-slot="offers">everyone’s offers</div>');
    expect((await visit())[0]).toBe('<div data-slot="offers">everyone’s offers</div>');
    // alice and bob share the gold entry: one fetch per segment.
    expect(net.calls.map((c) => new URL(c.url).pathname).filter((p) => p.startsWith('/offers/'))).toEqual([
      '/offers/gold',
      '/offers/silver',
      '/offers/anonymous',
    ]);
  });

  it('serves the default segment when no SEGMENTS namespace is bound', async () => {
    const net = offers();
    const response = await gatewayFor(net, manifest)('/page', { headers: { cookie: 'uid=alice' } });
    expect(await response.text()).toBe('<div data-slot="offers">everyone’s offers</div>');
  });

  it('is rejected at build time when the route does not say where the user id comes from', () => {
    expect(() => compile({ route: '/page', fragments: { offers: { src: '/offers/{segment}' } } })).toThrow(
      'fragments.offers: expected segment: on the route (such as "cookie.uid") for a fragment that uses {segment}',
    );
  });
});

describe('variants per fragment', () => {
  it('stops storing new variants past the cap, and keeps serving', async () => {
    const net = upstream({ '/page': () => html('<div data-slot="f"></div>'), '/f': (request) => html(`in ${request.headers.get('accept-language')}`) });
    const get = gatewayFor(net, {
      route: '/page',
      limits: { variantsPerFragment: 2 },
      fragments: { f: { src: '/f', ttl: '1m', forwardHeaders: ['accept-language'] } },
    });
    for (const language of ['de', 'fr', 'it', 'it', 'de']) {
      const response = await get('/page', { headers: { 'accept-language': language } });
      expect(await response.text()).toBe(`<div data-slot="f">in ${language}</div>`);
      await response.settled();
    }
    // de and fr are cached; it, the third variant, is fetched every time.
    expect(net.requested('/f').map((c) => c.headers.get('accept-language'))).toEqual(['de', 'fr', 'it', 'it']);
  });
});
