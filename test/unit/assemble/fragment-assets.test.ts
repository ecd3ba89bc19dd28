import { describe, expect, it } from 'vitest';
import { readAssetLinks } from '../../../gateway/http/asset-links';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { findAssetElements } from '../../../gateway/markup/asset-elements';
import { compile, delay, esiPage, gate, gatewayFor, html, upstream } from '../harness';

/**
 * Issue 23: a fragment's stylesheets and scripts, from its Link header, its
 * manifest entry and its own markup, go into the page once, stylesheets in
 * front of the fragment's markup (in front of its template out of order),
 * and the page's Link header preloads what is known before the body.
 */

const css = (href: string) => `<link rel="stylesheet" href="${href}">`;
const js = (href: string) => `<script src="${href}"></script>`;

/** The page with its random placeholder prefix written `tessera-R-`. */
function named(page: string): string {
  const prefix = /name="(tessera-[^"]*-)1"/.exec(page)?.[1];
  return prefix ? page.replaceAll(prefix, 'tessera-R-') : page;
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe('fragment assets', () => {
  it('puts the stylesheets the manifest declares in the head, known before any fragment, and not again in front of it', async () => {
    const net = upstream({
      '/page': () => html('<html><head><title>t</title></head><body><div data-slot="a">A?</div></body></html>'),
      '/a': () => html('<p>a</p>'),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { a: { src: '/a', assets: ['/a.css', '/a.js'] } } } as RouteManifest);
    const page = await (await get('/page')).text();
    expect(page).toBe(`<html><head><title>t</title>${css('/a.css')}</head><body><div data-slot="a"><p>a</p>${js('/a.js')}</div></body></html>`);
  });

  it('puts a declared stylesheet in front of its fragment on a page with no </head>', async () => {
    const net = upstream({ '/page': () => html('<main><div data-slot="a">A?</div></main>'), '/a': () => html('<p>a</p>') });
    const get = gatewayFor(net, { route: '/page', fragments: { a: { src: '/a', assets: ['/a.css'] } } } as RouteManifest);
    expect(await (await get('/page')).text()).toBe(`<main><div data-slot="a">${css('/a.css')}<p>a</p></div></main>`);
  });

  it('puts a stylesheet two fragments declare in front of the first one only, and each script after its fragment once', async () => {
    const net = upstream({
      '/page': () => html('<main><div data-slot="a">A?</div><div data-slot="b">B?</div></main>'),
      '/a': () => html('<p>a</p>', { link: '</assets/shared.css>; rel=stylesheet, </assets/a.js>; rel=script' }),
      '/b': () => html('<p>b</p>', { link: '</assets/shared.css>; rel="stylesheet", </assets/b.css>; rel=stylesheet, </assets/a.js>; rel=script' }),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { a: { src: '/a' }, b: { src: '/b' } } });
    const body = await (await get('/page')).text();
    expect(body).toBe(
      `<main><div data-slot="a">${css('/assets/shared.css')}<p>a</p>${js('/assets/a.js')}</div>` +
        `<div data-slot="b">${css('/assets/b.css')}<p>b</p></div></main>`,
    );
  });

  it('keeps one of the <link rel=stylesheet> and <script src> elements fragment bodies repeat, and none the page already has', async () => {
    const net = upstream({
      '/page': () =>
        esiPage(
          `<html><head>${css('/site.css')}${js('https://cdn.test/lib.js')}</head><body><esi:include src="/one"/><esi:include src="/two"/><!-- ${css('/x.css')} --></body></html>`,
        ),
      '/one': () => html(`${css('/site.css')}${css('https://shop.test/widget.css')}<b>one</b>${js('https://cdn.test/lib.js')}${js('/w.js')}`),
      '/two': () => html(`${css('/widget.css')}<i>two</i><script src="/w.js" defer></script><script>inline()</script>`),
    });
    const get = gatewayFor(net, { route: '/page' });
    const body = await (await get('/page')).text();
    expect(body).toBe(
      `<html><head>${css('/site.css')}${js('https://cdn.test/lib.js')}</head><body>` +
        `${css('https://shop.test/widget.css')}<b>one</b>${js('/w.js')}` +
        '<i>two</i><script>inline()</script>' +
        `<!-- ${css('/x.css')} --></body></html>`,
    );
  });

  it('declares assets in the manifest for fragments that cannot send a Link header, and announces them in the page’s Link header', async () => {
    const net = upstream({
      '/page': () => html('<div data-slot="price">€1</div>', { link: '</own.css>; rel=preload; as=style' }),
      '/price': () => html('<b>€2</b>'),
    });
    const manifest: RouteManifest = {
      route: '/page',
      fragments: {
        price: {
          src: '/price',
          assets: ['/assets/price.css', { href: '/assets/price.mjs' }, { href: '/assets/font.woff2', rel: 'preload', as: 'font', crossorigin: 'anonymous' }],
        },
      },
    };
    const response = await gatewayFor(net, manifest)('/page');
    expect(response.headers.get('link')).toBe(
      '</own.css>; rel=preload; as=style, </assets/price.css>; rel=preload; as=style, </assets/price.mjs>; rel=modulepreload, </assets/font.woff2>; rel=preload; as=font; crossorigin=anonymous',
    );
    expect(await response.text()).toBe(
      `<div data-slot="price">${css('/assets/price.css')}<link rel="preload" href="/assets/font.woff2" as="font" crossorigin="anonymous"><b>€2</b><script src="/assets/price.mjs" type="module"></script></div>`,
    );
  });

  it('remembers what a route’s fragments placed, and announces it on the route’s next pages before any fragment has answered', async () => {
    const slow = gate();
    let views = 0;
    const net = upstream({
      '/p/1': () => html('<div data-slot="recs"></div>'),
      '/p/2': () => html('<div data-slot="recs"></div>'),
      '/recs': async () => {
        if (views++ > 0) await slow.opened;
        return html(`${js('/recs.js')}<ul>recs</ul>`, { link: '</recs.css>; rel=stylesheet, <https://cdn.test/font.woff2>; rel=preload; as=font' });
      },
    });
    const get = gatewayFor(net, { route: '/p/:id', hosts: ['cdn.test'], fragments: { recs: { src: '/recs' } } });
    const first = await get('/p/1');
    expect(first.headers.get('link')).toBeNull();
    await first.text();
    await first.settled();
    const second = await get('/p/2');
    // Headers before the fragment has answered: what the first view placed, stylesheets first.
    expect(second.headers.get('link')).toBe(
      '</recs.css>; rel=preload; as=style, </recs.js>; rel=preload; as=script, <https://cdn.test/font.woff2>; rel=preload; as=font',
    );
    slow.open();
    expect(await second.text()).toBe(
      `<div data-slot="recs">${css('/recs.css')}<link rel="preload" href="https://cdn.test/font.woff2" as="font">${js('/recs.js')}<ul>recs</ul></div>`,
    );
  });

  it('keeps the page’s Link header within 8 KB, stylesheets first', async () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ href: `/assets/script-number-${i}.js` }));
    const net = upstream({ '/page': () => html('<div data-slot="a"></div>'), '/a': () => html('a') });
    const response = await gatewayFor(net, { route: '/page', fragments: { a: { src: '/a', assets: [...many, '/assets/late.css'] } } })('/page');
    const link = response.headers.get('link') ?? '';
    expect(link.length).toBeLessThanOrEqual(8 * 1024);
    expect(link.startsWith('</assets/late.css>; rel=preload; as=style, </assets/script-number-0.js>')).toBe(true);
    await response.text();
  });

  it('refuses assets on hosts the route does not list, from the Link header and the manifest alike', async () => {
    const net = upstream({
      '/page': () => html('<div data-slot="a"></div>'),
      '/a': () =>
        html('<p>a</p>', { link: '<https://evil.test/x.css>; rel=stylesheet, <https://cdn.test/ok.css>; rel=stylesheet, <javascript:alert(1)>; rel=script' }),
    });
    const get = gatewayFor(net, { route: '/page', hosts: ['cdn.test'], fragments: { a: { src: '/a' } } });
    expect(await (await get('/page')).text()).toBe(`<div data-slot="a">${css('https://cdn.test/ok.css')}<p>a</p></div>`);
  });

  it('leaves a Link header the parser refuses out, and reads commas inside <…> and quotes as a real parser does', async () => {
    expect(readAssetLinks('</a,b.css>; rel="stylesheet"; title="x, y", </c.js>; rel=script; type=module').assets).toEqual([
      { href: '/a,b.css', rel: 'stylesheet' },
      { href: '/c.js', rel: 'script', type: 'module' },
    ]);
    expect(readAssetLinks('</a.js>; rel=script; defer').assets).toEqual([{ href: '/a.js', rel: 'script', defer: true }]);
    expect(readAssetLinks('</a.js>; rel=script; defer, </b.css>; rel=stylesheet').problem).toMatch(/could not be read/);
    expect(readAssetLinks('garbage').problem).toMatch(/could not be read/);
    expect(readAssetLinks('</next>; rel=next, </p.css>; rel=preload').assets).toEqual([]);
  });

  it('finds only real asset elements: not in comments, scripts or attribute values', () => {
    const markup = `<!-- ${css('/c.css')} --><script>document.write('${css('/s.css')}')</script><div title="${css('/t.css').replaceAll('"', '&quot;')}"></div><LINK REL="Preload Stylesheet" HREF="/real.css?a=1&amp;b=2"><script type=module src=/m.js></script>`;
    expect(findAssetElements(markup).map(({ rel, href }) => `${rel} ${href}`)).toEqual(['stylesheet /real.css?a=1&b=2', 'script /m.js']);
  });

  it('puts an out-of-order fragment’s stylesheets in front of its template, and a shared one only where it first arrives', async () => {
    const recs = gate();
    const net = upstream({
      '/page': () => esiPage('<body><div data-slot="recs">…</div><esi:include src="/price"/><p>after</p></body>'),
      '/recs': async () => {
        await recs.opened;
        return html(`${css('/shared.css')}<ul>recs</ul>`, { link: '</recs.css>; rel=stylesheet' });
      },
      '/price': () => html('<b>€1</b>', { link: '</shared.css>; rel=stylesheet' }),
    });
    const get = gatewayFor(net, { route: '/page', inOrderFor: [], fragments: { recs: { src: '/recs', placement: 'out-of-order' } } });
    const response = await get('/page');
    const body = response.text();
    await delay(50);
    recs.open();
    const page = named(await body);
    expect(page).toContain(`${css('/shared.css')}<b>€1</b><p>after</p>`);
    expect(page).toContain(`${css('/recs.css')}<template for="tessera-R-1"><ul>recs</ul></template>`);
    expect(count(page, '/shared.css')).toBe(1);
  });

  it('gives a fragment inside a fragment its assets too, once for the page', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/outer"/>'),
      '/outer': () => esiPage('<section><esi:include src="/inner"/></section>', { link: '</outer.css>; rel=stylesheet' }),
      '/inner': () => html('<p>inner</p>', { link: '</outer.css>; rel=stylesheet, </inner.css>; rel=stylesheet' }),
    });
    const body = await (await gatewayFor(net, { route: '/page' })('/page')).text();
    expect(body).toBe(`${css('/outer.css')}<section>${css('/inner.css')}<p>inner</p></section>`);
  });

  it('adds nothing to a static fallback, and keeps an asset an <esi:try> attempt threw away for the except', async () => {
    const net = upstream({
      '/page': () =>
        esiPage(
          '<esi:try><esi:attempt><esi:include src="/ok"/><esi:include src="/broken"/></esi:attempt><esi:except><esi:include src="/ok2"/></esi:except></esi:try>',
        ),
      '/ok': () => html('ok', { link: '</try.css>; rel=stylesheet' }),
      '/ok2': () => html('ok2', { link: '</try.css>; rel=stylesheet' }),
      '/broken': () => html('no', {}, 500),
    });
    const body = await (await gatewayFor(net, { route: '/page' })('/page')).text();
    expect(body).toBe(`${css('/try.css')}ok2`);
  });

  it('lists each fragment’s assets in the debug view: placed, left out as a duplicate (and who had it first), refused', async () => {
    const net = upstream({
      '/page': () => html(`<head>${css('/site.css')}</head><div data-slot="a"></div><div data-slot="b"></div>`),
      '/a': () => html(`${css('/site.css')}a`, { link: '</shared.css>; rel=stylesheet, <https://evil.test/x.js>; rel=script' }),
      '/b': () => html('b', { link: '</shared.css>; rel=stylesheet' }),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { a: { src: '/a' }, b: { src: '/b' } } }, { env: { TESSERA_DEV: 'true' } });
    const body = await (await get('/page?tessera-debug')).text();
    const data = JSON.parse(/<script type="application\/json" id="tessera-debug-data">(.*?)<\/script>/s.exec(body)?.[1] ?? 'null');
    const byId = Object.fromEntries(data.fragments.map((f: { fragment: string; assets: unknown }) => [f.fragment, f.assets]));
    expect(byId.a).toEqual([
      {
        fragment: 'a',
        href: 'https://evil.test/x.js',
        rel: 'script',
        from: 'link',
        state: 'refused',
        note: 'https://evil.test is not the origin or a listed host',
      },
      { fragment: 'a', href: '/shared.css', rel: 'stylesheet', from: 'link', state: 'placed' },
      { fragment: 'a', href: '/site.css', rel: 'stylesheet', from: 'markup', state: 'duplicate', by: 'page' },
    ]);
    expect(byId.b).toEqual([{ fragment: 'b', href: '/shared.css', rel: 'stylesheet', from: 'link', state: 'duplicate', by: 'a' }]);
  });

  it('checks assets: when the manifest is compiled: a kind it can tell, a preload’s destination, a listed host', () => {
    const route = (assets: NonNullable<NonNullable<RouteManifest['fragments']>[string]['assets']>) => ({
      route: '/p',
      fragments: { a: { src: '/a', assets } },
    });
    expect(compile(route(['/a.css', '/b.mjs', { href: '/c.js', defer: true }])).routes[0].fragments.a.assets).toEqual([
      { href: '/a.css', rel: 'stylesheet' },
      { href: '/b.mjs', rel: 'script', type: 'module' },
      { href: '/c.js', rel: 'script', defer: true },
    ]);
    expect(() => compile(route(['/logo.png']))).toThrow(/expected rel: \(stylesheet, script, modulepreload or preload\) for "\/logo.png"/);
    expect(() => compile(route([{ href: '/f.woff2', rel: 'preload' }]))).toThrow(/expected as: for a preload/);
    expect(() => compile(route(['https://cdn.test/a.css']))).toThrow(/https:\/\/cdn.test is not the origin or a listed host/);
    expect(() => compile(route(['javascript:alert(1)//.js']))).toThrow(/expected a path such as/);
  });
});
