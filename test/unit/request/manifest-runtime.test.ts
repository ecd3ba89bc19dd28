import { describe, expect, it } from 'vitest';
import type { CompiledManifests } from '../../../gateway/contract/types';
import { createGateway } from '../../../gateway/gateway';
import { parseDuration } from '../../../gateway/lib/duration';
import { hostOrigin } from '../../../gateway/manifest/compile';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { parseSrcTemplate } from '../../../gateway/manifest/src-template';
import { RequestVars, resolveSrc } from '../../../gateway/request/request-vars';
import { createRouter, fixedPrefix } from '../../../gateway/request/route-match';
import { VisitorRequest } from '../../../gateway/request/visitor-request';
import { compile } from '../harness';

describe('durations', () => {
  it.each([
    ['150ms', 150],
    ['30s', 30_000],
    ['5m', 300_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    [300, 300_000],
    ['0.5', 500],
    [0, 0],
  ])('parses %s as %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['soon', '5 minutes', '-1s', '', true, null])('rejects %s', (input) => expect(parseDuration(input)).toBeUndefined());
});

describe('src templates', () => {
  const vars = (path = '/products/42', init: RequestInit = {}, cf?: object) => {
    const request = new Request(`https://shop.test${path}`, init);
    if (cf) Object.defineProperty(request, 'cf', { value: cf });
    return new RequestVars(new VisitorRequest({ request, url: new URL(request.url), params: { id: '42' } }));
  };

  it('substitutes every variable source, URL-encoded', () => {
    const template = parseSrcTemplate('/p/{params.id}?q={query.q}&c={cookie.cur}&l={header.Accept-Language}&g={geo.country}');
    const resolved = resolveSrc(
      template,
      vars('/products/42?q=a b&x', { headers: { cookie: 'x=1; cur=E%26R', 'accept-language': 'de,en;q=0.5' } }, { country: 'DE' }),
    );
    expect(resolved).toEqual({ ok: true, src: '/p/42?q=a%20b&c=E%26R&l=de%2Cen%3Bq%3D0.5&g=DE' });
  });

  it('uses defaults for missing or empty values and reports what is missing', () => {
    expect(resolveSrc(parseSrcTemplate('/p?cur={cookie.currency|EUR}&q={query.q|all}'), vars('/x?q='))).toEqual({ ok: true, src: '/p?cur=EUR&q=all' });
    expect(resolveSrc(parseSrcTemplate('/p/{cookie.user}'), vars())).toEqual({ ok: false, problem: 'no value for {cookie.user}' });
  });

  it.each(['.', '..'])('refuses a value of %s from any source, route parameters included', (value) => {
    const request = new Request('https://shop.test/x', { headers: { cookie: `c=${value}`, 'x-h': value } });
    const refusing = new RequestVars(new VisitorRequest({ request, url: new URL(`https://shop.test/x?q=${value}`), params: { id: value } }));
    for (const variable of ['params.id', 'query.q', 'cookie.c', 'header.x-h']) {
      expect(resolveSrc(parseSrcTemplate(`/a/{${variable}}/b`), refusing)).toEqual({
        ok: false,
        problem: `refused the value "${value}" for {${variable}}: it would walk the path`,
      });
    }
  });

  it('rejects unknown variables and stray braces at build time', () => {
    expect(() => parseSrcTemplate('/p/{user.id}')).toThrow('got {user.id}');
    expect(() => parseSrcTemplate('/p/{geo.city}')).toThrow('expected {geo.country}, the only geo variable, got {geo.city}');
    expect(() => parseSrcTemplate('/p/{params.id')).toThrow('balanced braces');
  });
});

describe('routing', () => {
  const router = createRouter(compile({ route: '/products/:id' }, { routes: ['/products/sale', '/products/sale/*'] }, { route: '/*' }));
  const match = (path: string) => {
    const found = router(new URL(`https://shop.test${path}`));
    return found && { route: found.route.name, params: found.params };
  };

  it('prefers static segments over parameters over wildcards, whatever the file order', () => {
    expect(match('/products/sale')).toEqual({ route: 'route1', params: {} });
    expect(match('/products/42')).toEqual({ route: 'route0', params: { id: '42' } });
    expect(match('/products/sale/shoes')?.route).toBe('route1');
    expect(match('/about')?.route).toBe('route2');
  });

  it('tries a pattern only where its fixed prefix matches, and the prefix never turns away a path the pattern takes', () => {
    expect(fixedPrefix('/products/:id')).toBe('/products');
    expect(fixedPrefix('/products/sale')).toBe('/products/sale');
    expect(fixedPrefix('/docs/:page?')).toBe('/docs');
    expect(fixedPrefix('/caf\u00e9/:x')).toBe('/caf');
    expect(fixedPrefix('/sitemap.xml')).toBe('/sitemap');
    expect(fixedPrefix('/*')).toBe('');
    const optional = createRouter(compile({ route: '/docs/:page?' }, { route: '/caf\u00e9/*' }, { route: '/a.b' }));
    const name = (path: string) => optional(new URL(`https://shop.test${path}`))?.route.name;
    expect(name('/docs')).toBe('route0');
    expect(name('/docs/intro')).toBe('route0');
    expect(name('/caf%C3%A9/menu')).toBe('route1');
    expect(name('/a.b')).toBe('route2');
    expect(name('/a.c')).toBeUndefined();
  });
});

describe('hosts', () => {
  it('normalises hosts to origins, https by default', () => {
    expect(hostOrigin('pricing.example.com')).toBe('https://pricing.example.com');
    expect(hostOrigin('pricing.example.com:8443')).toBe('https://pricing.example.com:8443');
    expect(hostOrigin('http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
    expect(hostOrigin('https://x.test/path')).toBeUndefined();
    expect(hostOrigin('ftp://x.test')).toBeUndefined();
  });
});

describe('compiled routes of another version', () => {
  it('are refused when the Worker starts, with what to do about it', () => {
    const routes = { ...compile({ route: '/page' } as RouteManifest), version: 2 } as unknown as CompiledManifests;
    expect(() => createGateway({ manifests: routes })).toThrow(/version 2, and this Worker reads version 1: run `tessera build`/);
  });
});
