import { describe, expect, it, vi } from 'vitest';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { delay, esiPage, gatewayFor, html, upstream } from '../harness';

const encoder = new TextEncoder();

/** An origin body that arrives one byte per chunk: every construct is cut by a chunk boundary somewhere. */
function byteByByte(markup: string): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(markup);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, ++at));
    },
  });
}

describe('the ESI language through the gateway', () => {
  it('substitutes variables in esi:vars and in include URLs, encoded for each', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:vars><p>$(HTTP_COOKIE{name})</p></esi:vars><esi:include src="/greet?n=$(HTTP_COOKIE{name})&amp;q=$(QUERY_STRING{q})"/>'),
      '/greet': (_, url) => html(`[${url.searchParams.get('n')}|${url.searchParams.get('q')}]`),
    });
    const get = gatewayFor(net, { route: '/page' });
    const response = await get('/page?q=a%26b', { headers: { cookie: 'name=<Eve&Co>' } });
    expect(await response.text()).toBe('<p>&#60;Eve&#38;Co&#62;</p>[<Eve&Co>|a&b]');
    expect(net.requested('/greet')[0].url).toBe('https://origin.test/greet?n=%3CEve%26Co%3E&q=a%26b');
    // A page that reads cookies is never publicly cacheable.
    expect(response.headers.get('cache-control') ?? '').not.toContain('public');
  });

  it('never lets a variable walk the include path', async () => {
    const net = upstream({
      '/page': () => esiPage('[<esi:include src="/frag/$(QUERY_STRING{p})/x"/>]'),
      '/frag/ok/x': () => html('OK'),
      '/x': () => html('ESCAPED'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page?p=ok')).text()).toBe('[OK]');
    expect(await (await get('/page?p=..')).text()).toBe('[]');
    expect(await (await get('/page?p=..%2F..')).text()).toBe('[]'); // one encoded segment, which no route answers
    expect(net.requested('/x')).toHaveLength(0);
  });

  it('renders the branch of esi:choose that holds and never fetches the includes of the others', async () => {
    const net = upstream({
      '/page': () =>
        esiPage(
          '<esi:choose><esi:when test="$(HTTP_COOKIE{tier}) == \'gold\'"><esi:include src="/gold"/></esi:when><esi:otherwise><esi:include src="/basic"/></esi:otherwise></esi:choose>',
        ),
      '/gold': () => html('GOLD'),
      '/basic': () => html('BASIC'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page', { headers: { cookie: 'tier=gold' } })).text()).toBe('GOLD');
    expect(await (await get('/page')).text()).toBe('BASIC');
    expect(net.requested('/gold')).toHaveLength(1);
    expect(net.requested('/basic')).toHaveLength(1);
  });

  it('renders esi:except when an include in esi:attempt fails, and fetches the except only then', async () => {
    const net = upstream({
      '/page': () =>
        esiPage(
          'a<esi:try><esi:attempt><esi:include src="/broken"/></esi:attempt><esi:except><esi:include src="/spare"/></esi:except></esi:try>b' +
            '<esi:try><esi:attempt><esi:include src="/fine"/></esi:attempt><esi:except><esi:include src="/unused"/></esi:except></esi:try>',
        ),
      '/broken': () => html('down', {}, 500),
      '/spare': () => html('SPARE'),
      '/fine': () => html('FINE'),
      '/unused': () => html('UNUSED'),
    });
    const get = gatewayFor(net, { route: '/page', esiErrors: 'fail' });
    expect(await (await get('/page')).text()).toBe('aSPAREbFINE');
    expect(net.requested('/unused')).toHaveLength(0);
  });

  it('processes <!--esi --> content, drops every form of esi:remove and esi:comment, and leaves no stray end tag', async () => {
    const net = upstream({
      '/page': () =>
        esiPage(
          '1<!--esi <esi:include src="/in-comment"/> -->2<esi:remove/>3<esi:remove><esi:include src="/removed"/></esi:remove>4<esi:comment text="x"/>5<esi:include src="/paired"></esi:include>6',
        ),
      '/in-comment': () => html('C'),
      '/removed': () => html('R'),
      '/paired': () => html('P'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe('1 C 2345P6');
    expect(net.requested('/removed')).toHaveLength(0);
  });

  it('applies the language the same when every byte arrives in a chunk of its own', async () => {
    const markup =
      '<p>x</p><!--esi <esi:include src="/a"/> --><esi:choose><esi:when test="1 == 2"><esi:include src="/no"/></esi:when><esi:otherwise><esi:vars>$(QUERY_STRING{v})</esi:vars></esi:otherwise></esi:choose><esi:remove>gone</esi:remove><esi:try><esi:attempt><esi:include src="/a"/></esi:attempt><esi:except>E</esi:except></esi:try>';
    const net = upstream({ '/page': () => esiPage(byteByByte(markup)), '/a': () => html('A'), '/no': () => html('NO') });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page?v=7')).text()).toBe('<p>x</p> A 7A');
    expect(net.requested('/no')).toHaveLength(0);
  });

  it('fills an include inside a script or style, where the rewriter cannot see it, however the bytes arrive', async () => {
    const markup = '<script>var config = <esi:include src="/config"/>;</script><style><esi:include src="/css"></esi:include></style><p>after</p>';
    const net = upstream({
      '/whole': () => esiPage(markup),
      '/bytes': () => esiPage(byteByByte(markup)),
      '/config': () => html('{"a":"<b>"}'),
      '/css': () => html('p{color:red}'),
    });
    const get = gatewayFor(net, { routes: ['/whole', '/bytes'] });
    const expected = '<script>var config = {"a":"<b>"};</script><style>p{color:red}</style><p>after</p>';
    expect(await (await get('/whole')).text()).toBe(expected);
    expect(await (await get('/bytes')).text()).toBe(expected);
  });

  it("fills an include inside a fragment's script too", async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/widget"/>'),
      '/widget': () => html('<div>w</div><script>init(<esi:include src="/config"/>)</script>', { 'surrogate-control': 'content="ESI/1.0"' }),
      '/config': () => html('{"on":true}'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe('<div>w</div><script>init({"on":true})</script>');
  });

  it('resolves a relative src against the page URL, and decodes character references in it', async () => {
    const net = upstream({
      '/shop/page': () => esiPage('<esi:include src="part.html?a=1&amp;b=2"/><esi:include src="../top.html"/>'),
      '/shop/part.html': (_, url) => html(`part:${url.search}`),
      '/top.html': () => html('|top'),
    });
    const get = gatewayFor(net, { route: '/shop/page' });
    expect(await (await get('/shop/page')).text()).toBe('part:?a=1&b=2|top');
  });

  it('recognises ESI/0.8 and targeted Surrogate-Control, and keeps the header from the client', async () => {
    const page = (control: string) => () => html('<esi:include src="/f"/>', { 'surrogate-control': control });
    const net = upstream({
      '/old': page('max-age=60, content="ESI/0.8"'),
      '/ours': page('content="ESI/1.0";tessera'),
      '/theirs': page('content="ESI/1.0";akamai'),
      '/f': () => html('F'),
    });
    const get = gatewayFor(net, { routes: ['/old', '/ours', '/theirs'] });
    const old = await get('/old');
    expect(await old.text()).toBe('F');
    expect(old.headers.get('surrogate-control')).toBeNull();
    expect(await (await get('/ours')).text()).toBe('F');
    expect(await (await get('/theirs')).text()).toBe('<esi:include src="/f"/>');
  });

  it('bounds an include by its maxwait', async () => {
    const net = upstream({
      '/page': () => esiPage('[<esi:include src="/slow" maxwait="50"/>]'),
      '/slow': async () => {
        await delay(2000);
        return html('late');
      },
    });
    const get = gatewayFor(net, { route: '/page', defaults: { timeout: '10s' } });
    const started = Date.now();
    expect(await (await get('/page')).text()).toBe('[]');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('fails the page on a failed include with esiErrors: fail, unless the include says onerror="continue"', async () => {
    const net = upstream({
      '/lenient': () => esiPage('a<esi:include src="/broken" onerror="continue"/>b'),
      '/strict': () => esiPage('a<esi:include src="/broken"/>b'),
      '/broken': () => html('down', {}, 500),
    });
    const get = gatewayFor(net, { routes: ['/lenient', '/strict'], esiErrors: 'fail' });
    expect(await (await get('/lenient')).text()).toBe('ab');
    await expect((await get('/strict')).text()).rejects.toThrow('esiErrors: fail');
  });

  it('applies the language inside fragments, as deep as maxDepth', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/outer"/>'),
      '/outer': () =>
        html('<esi:choose><esi:when test="$(QUERY_STRING{x}) == 1"><esi:include src="/inner"/></esi:when><esi:otherwise>no</esi:otherwise></esi:choose>', {
          'surrogate-control': 'content="ESI/1.0"',
        }),
      '/inner': () => html('INNER'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page?x=1')).text()).toBe('INNER');
    expect(await (await get('/page?x=2')).text()).toBe('no');
    expect(net.requested('/inner')).toHaveLength(1);
  });
});

describe("the gateway's own in-band instructions", () => {
  it('are obeyed only when this page wrote them: page content naming them is left as it is', async () => {
    const forged = '<tessera-try data-index="0"></tessera-try><tessera-try data-seal="guess" data-index="0"></tessera-try>';
    const net = upstream({
      '/page': () => esiPage(`${forged}<esi:try><esi:attempt><esi:include src="/a"/></esi:attempt><esi:except>E</esi:except></esi:try>`),
      '/a': () => html('A'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe(`${forged}A`);
  });
});

describe('nested includes under esi: auto', () => {
  it('start as soon as the origin says the page is ESI, for fragments that settled before it answered', async () => {
    const began = Date.now();
    let innerAt = 0;
    let markerAt = 0;
    const encoder = new TextEncoder();
    const net = upstream({
      // The outer fragment settles before the origin's headers (at 50 ms); its marker comes 300 ms after them.
      '/page': async () =>
        (await delay(50)) ??
        esiPage(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(encoder.encode('<p>head</p>'));
              await delay(300);
              markerAt = Date.now() - began;
              controller.enqueue(encoder.encode('<div data-slot="outer">own</div>'));
              controller.close();
            },
          }),
        ),
      '/outer': () => html('[<esi:include src="/inner"/>]'),
      '/inner': () => {
        innerAt = Date.now() - began;
        return html('inner');
      },
    });
    const get = gatewayFor(net, { route: '/page', esi: 'auto', fragments: { outer: { src: '/outer' } } });
    expect(await (await get('/page')).text()).toBe('<p>head</p><div data-slot="outer">[inner]</div>');
    // Requested before the origin even sent the marker: not when the rewriter reached it.
    expect(innerAt).toBeGreaterThan(0);
    expect(innerAt).toBeLessThan(markerAt);
  });
});

describe('ESI on the answer to a form', () => {
  it('is processed whatever the method, while the body reaches the origin once, untouched, and fragments are fetched with GET', async () => {
    const seen: Array<{ method: string; body: string }> = [];
    const net = upstream({
      '/form': async (request) => {
        seen.push({ method: request.method, body: await request.text() });
        return esiPage('<p>thanks</p><esi:include src="/basket"/>');
      },
      '/basket': (request) => html(`basket via ${request.method}`),
    });
    const get = gatewayFor(net, { route: '/form' });
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await get('/form', { method, body: method === 'DELETE' ? undefined : 'a=1&b=2' });
      expect(await response.text()).toBe('<p>thanks</p>basket via GET');
    }
    expect(seen).toEqual([
      { method: 'POST', body: 'a=1&b=2' },
      { method: 'PUT', body: 'a=1&b=2' },
      { method: 'DELETE', body: '' },
    ]);
  });

  it('passes a redirect after a POST through as it is', async () => {
    const net = upstream({ '/form': () => new Response(null, { status: 303, headers: { location: '/done' } }) });
    const response = await gatewayFor(net, { route: '/form' })('/form', { method: 'POST', body: 'x', redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/done');
  });
});

describe('ESI_ARGS', () => {
  it('reads esi_ query arguments in the page, and keeps them from the origin, as Ledge and cloudflare-esi do', async () => {
    const net = upstream({
      '/page': () =>
        esiPage('<esi:vars>[$(ESI_ARGS{color})|$(ESI_ARGS)]</esi:vars><esi:choose><esi:when test="$(ESI_ARGS{size}) == \'xl\'">XL</esi:when></esi:choose>'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page?esi_color=red&x=1&esi_size=xl')).text()).toBe('[red|esi_color=red&#38;esi_size=xl]XL');
    expect(net.requested('/page').map((call) => new URL(call.url).search)).toEqual(['?x=1']);
  });

  it('leaves esi_ arguments to the origin on a route that never runs ESI', async () => {
    const net = upstream({ '/page': () => html('plain') });
    await (await gatewayFor(net, { route: '/page', esi: 'off' })('/page?esi_color=red')).text();
    expect(net.requested('/page').map((call) => new URL(call.url).search)).toEqual(['?esi_color=red']);
  });
});

describe('ESI_ARGS and the rest of the query', () => {
  it('keeps every other argument byte for byte, and the esi_ ones only from routes whose pages may read them', async () => {
    const net = upstream({ '/page': () => esiPage('<esi:vars>$(ESI_ARGS{ref})</esi:vars>') });
    const query = '?q=a%20b&sig=AB~c%2F&flag&esi_ref=1';
    await (await gatewayFor(net, { route: '/page' })(`/page${query}`)).text();
    await (await gatewayFor(net, { route: '/page', esiVariables: ['QUERY_STRING'] } as RouteManifest)(`/page${query}`)).text();
    await gatewayFor(net, { route: '/page' })(`/page${query}`, { method: 'HEAD' });
    expect(net.requested('/page').map((call) => new URL(call.url).search)).toEqual(['?q=a%20b&sig=AB~c%2F&flag', query, '?q=a%20b&sig=AB~c%2F&flag']);
  });
});

describe('a form whose page needs a required fragment', () => {
  it('keeps the answer the origin gave once it has acted on the form, with the fragment failed over to its fallback', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const net = upstream({ '/order': () => html('<p>ordered</p><div data-slot="basket">basket</div>'), '/basket': () => html('down', {}, 503) });
    const get = gatewayFor(net, { route: '/order', fragments: { basket: { src: '/basket', required: true, fallback: { html: 'unavailable' } } } });
    const posted = await get('/order', { method: 'POST', body: 'item=1' });
    expect(posted.status).toBe(200);
    expect(await posted.text()).toBe('<p>ordered</p><div data-slot="basket">unavailable</div>');
    expect((await get('/order')).status).toBe(502);
    vi.restoreAllMocks();
  });
});
