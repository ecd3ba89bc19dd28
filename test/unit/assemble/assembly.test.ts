import { describe, expect, it, vi } from 'vitest';
import type { FragmentSource } from '../../../gateway/contract/fragment-source';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { InBand } from '../../../gateway/markup/in-band';
import { delay, esiPage, gate, gatewayFor, html, readChunks, upstream } from '../harness';

describe('streaming assembly', () => {
  it('keeps document order when fragments finish out of order', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => i);
    const delays = ids.map(() => Math.floor(Math.random() * 60));
    const net = upstream({
      '/page': () => esiPage(`<main>${ids.map((i) => `<esi:include src="/f/${i}"/>`).join('|')}</main>`),
      ...Object.fromEntries(
        ids.map((i) => [
          `/f/${i}`,
          async () => {
            await delay(delays[i]);
            return html(`[${i}]`);
          },
        ]),
      ),
    });
    const get = gatewayFor(net, { route: '/page' });
    const body = await (await get('/page')).text();
    expect(body).toBe(`<main>${ids.map((i) => `[${i}]`).join('|')}</main>`);
  });

  it('flushes the head before a slow fragment arrives', async () => {
    const slow = gate();
    const net = upstream({
      '/page': () => esiPage('<html><head><title>T</title></head><body><esi:include src="/slow"/></body></html>'),
      '/slow': async () => {
        await slow.opened;
        return html('<p>late</p>');
      },
    });
    const get = gatewayFor(net, { route: '/page', defaults: { timeout: '5s' } });
    const response = await get('/page');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    // The fragment cannot finish until the test opens its gate: if the head were held
    // back behind it, this loop would never see </head>.
    while (!seen.includes('</head>')) {
      const { done, value } = await reader.read();
      expect(done).toBe(false);
      seen += decoder.decode(value, { stream: true });
    }
    expect(seen).not.toContain('late');
    slow.open();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
    expect(seen).toBe('<html><head><title>T</title></head><body><p>late</p></body></html>');
  });

  /**
   * Each fragment answers only once both have been requested, so a gateway that fetched them
   * one after the other would deadlock into fallbacks: "the slowest, not the sum", without timing.
   */
  function pairedFragments() {
    const both = gate();
    let requested = 0;
    const handler = (name: string) => async () => {
      if (++requested === 2) both.open();
      await both.opened;
      return html(name);
    };
    return { a: handler('A'), b: handler('B') };
  }

  it('fetches declared fragments in parallel, not one after the other', async () => {
    const { a, b } = pairedFragments();
    const net = upstream({
      '/page': () => html('<div data-slot="a">fallback-a</div><div data-slot="b">fallback-b</div>'),
      '/a': a,
      '/b': b,
    });
    const get = gatewayFor(net, {
      route: '/page',
      fragments: { a: { src: '/a', timeout: '2s', fallback: 'keep' }, b: { src: '/b', timeout: '2s', fallback: 'keep' } },
    });
    expect(await (await get('/page')).text()).toBe('<div data-slot="a">A</div><div data-slot="b">B</div>');
  });

  it('starts undeclared includes from the look-ahead scan, before the rewriter reaches them', async () => {
    const { a, b } = pairedFragments();
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/a"/><esi:include src="/b"/>'),
      '/a': a,
      '/b': b,
    });
    const get = gatewayFor(net, { route: '/page', defaults: { timeout: '2s' } });
    expect(await (await get('/page')).text()).toBe('AB');
  });

  it('fills includes inside fragments, fetching nested fragments in parallel', async () => {
    const { a, b } = pairedFragments();
    const net = upstream({
      '/page': () => esiPage('<body><esi:include src="/outer"/></body>'),
      '/outer': () => html('<section><esi:include src="/a"/>+<esi:include src="/b"/></section>'),
      '/a': a,
      '/b': b,
    });
    const get = gatewayFor(net, { route: '/page', defaults: { timeout: '2s' } });
    expect(await (await get('/page')).text()).toBe('<body><section>A+B</section></body>');
  });

  it('bounds include depth and breaks include cycles', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/loop"/>|<esi:include src="/d1"/>'),
      '/loop': () => html('L<esi:include src="/loop"/>'),
      '/d1': () => html('1<esi:include src="/d2"/>'),
      '/d2': () => html('2<esi:include src="/d3"/>'),
      '/d3': () => html('3<esi:include src="/d4"/>'),
    });
    const get = gatewayFor(net, { route: '/page', limits: { maxDepth: 2 } });
    // The cycle renders once; with maxDepth 2 the include on the third level renders nothing, as in ESI engines.
    expect(await (await get('/page')).text()).toBe('L|123');
  });

  it('fetches an include used twice on a page once', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/same"/><esi:include src="/same"/><div data-slot="same">x</div>'),
      '/same': () => html('S'),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { same: { src: '/same' } } });
    expect(await (await get('/page')).text()).toBe('SS<div data-slot="same">S</div>');
    expect(net.requested('/same')).toHaveLength(1);
  });

  it('bounds concurrent fragment fetches per request', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => i);
    const net = upstream({
      '/page': () => esiPage(ids.map((i) => `<esi:include src="/f/${i}"/>`).join('')),
      ...Object.fromEntries(
        ids.map((i) => [
          `/f/${i}`,
          async () => {
            await delay(20);
            return html(String(i));
          },
        ]),
      ),
    });
    const get = gatewayFor(net, { route: '/page', limits: { concurrency: 3 } });
    expect(await (await get('/page')).text()).toBe('0123456789');
    // The origin request holds one of the slots too, as Workers counts it.
    expect(net.maxInFlight).toBe(3);
  });

  it('renders includes past the per-page limit as empty', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/1"/><esi:include src="/2"/><esi:include src="/3"/>'),
      '/1': () => html('1'),
      '/2': () => html('2'),
      '/3': () => html('3'),
    });
    const get = gatewayFor(net, { route: '/page', limits: { maxIncludes: 2 } });
    expect(await (await get('/page')).text()).toBe('12');
    expect(net.requested('/3')).toHaveLength(0);
  });

  it('handles self-closing and paired esi:include without swallowing the page', async () => {
    const net = upstream({
      '/page': () => esiPage('<p>a</p><esi:include src="/f"/><p>b</p><esi:include src="/f"></esi:include><p>c</p>'),
      '/f': () => html('F'),
    });
    const get = gatewayFor(net, { route: '/page' });
    const body = await (await get('/page')).text();
    expect(body.replace('</esi:include>', '')).toBe('<p>a</p>F<p>b</p>F<p>c</p>');
  });

  it('keeps data-slot elements and their attributes, replacing only the inner content', async () => {
    const net = upstream({
      '/page': () => html('<span class="p" data-slot="price" id="x">€1</span><div data-slot="unknown">stay</div>'),
      '/price': () => html('<b>€2</b>'),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { price: { src: '/price' } } });
    expect(await (await get('/page')).text()).toBe('<span class="p" data-slot="price" id="x"><b>€2</b></span><div data-slot="unknown">stay</div>');
  });

  it('keeps UTF-8 intact when multi-byte characters are split across chunks', async () => {
    const bytes = new TextEncoder().encode('<p>Grüße €5 — 日本</p><esi:include src="/f"/>');
    const net = upstream({
      '/page': () =>
        esiPage(
          new ReadableStream({
            async start(controller) {
              // One byte per chunk splits every multi-byte character.
              for (const byte of bytes) {
                controller.enqueue(new Uint8Array([byte]));
                await delay(0);
              }
              controller.close();
            },
          }),
        ),
      '/f': () => {
        const fragment = new TextEncoder().encode('<i>ñ€😀</i>');
        return html(
          new ReadableStream({
            start(controller) {
              controller.enqueue(fragment.slice(0, 5));
              controller.enqueue(fragment.slice(5, 9));
              controller.enqueue(fragment.slice(9));
              controller.close();
            },
          }),
        );
      },
    });
    const get = gatewayFor(net, { route: '/page' });
    const chunks = await readChunks(await get('/page'));
    expect(chunks.map((c) => c.text).join('')).toBe('<p>Grüße €5 — 日本</p><i>ñ€😀</i>');
  });
});

describe('a marker that fails unexpectedly', () => {
  it('falls back instead of cutting the page off', async () => {
    const { assembleResponse } = await import('../../../gateway/assemble/assemble');
    const broken: FragmentSource = {
      maxDepth: 3,
      include: () => ({ ready: false, fragment: Promise.reject(new Error('bug')) }),
      slot: () => ({ ready: false, fragment: Promise.reject(new Error('bug')) }),
      esiInside: () => true,
      esiMarkup: (fragment) => fragment.result.html ?? '',
      tryBlock: () => undefined,
      includeFailed: () => {},
      inline: () => Promise.resolve(new Uint8Array(0)),
    };
    const page = new Response('<p>a</p><esi:include src="/x"/><div data-slot="s">own</div><p>b</p>');
    const body = await assembleResponse(page, broken, { depth: 0, ancestry: [], esi: true, inBand: new InBand() }).text();
    expect(body).toBe('<p>a</p><div data-slot="s">own</div><p>b</p>');
  });
});

describe('a fragment with ESI inside', () => {
  it('goes through the ESI pass once, though its includes are found early and it is rendered later', async () => {
    const { PageEsi } = await import('../../../gateway/markup/page-esi');
    const applied = vi.spyOn(PageEsi.prototype, 'applyTo');
    const net = upstream({
      '/page': () => esiPage('<p>a</p><esi:include src="/outer"/><p>b</p>'),
      '/outer': () => html('[<esi:vars>$(QUERY_STRING{x})</esi:vars><esi:include src="/inner"/>]'),
      '/inner': () => html('inner'),
    });
    const get = gatewayFor(net, { route: '/page', esi: 'on' } as RouteManifest);
    expect(await (await get('/page?x=1')).text()).toBe('<p>a</p>[1inner]<p>b</p>');
    expect(applied.mock.calls.filter(([markup]) => markup.includes('/inner'))).toHaveLength(1);
    applied.mockRestore();
  });
});

describe('look-ahead window', () => {
  it('reads at most a bounded window past a slow fragment, not the whole page', async () => {
    const { LOOKAHEAD_BYTES } = await import('../../../gateway/page/page-lifetime');
    const slow = gate();
    const filler = `<p>${'x'.repeat(1000)}</p>`;
    const chunks = [
      '<html><head></head><body><esi:include src="/slow"/>',
      ...Array.from({ length: 2000 }, (_, i) =>
        i === 10 ? `<esi:include src="/near"/>${filler}` : i === 1900 ? `<esi:include src="/far"/>${filler}` : filler,
      ),
      '</body></html>',
    ].map((c) => new TextEncoder().encode(c));
    let pulled = 0;
    const net = upstream({
      '/page': () =>
        esiPage(
          new ReadableStream<Uint8Array>(
            {
              pull(controller) {
                const next = chunks.shift();
                if (!next) return controller.close();
                pulled += next.byteLength;
                controller.enqueue(next);
              },
            },
            { highWaterMark: 0 },
          ),
        ),
      '/slow': async () => {
        await slow.opened;
        return html('S');
      },
      '/near': () => html('N'),
      '/far': () => html('F'),
    });
    const get = gatewayFor(net, { route: '/page', defaults: { timeout: '5s' } });
    const response = await get('/page');
    const body = response.text();
    await delay(300);
    // 2 MB of page, but only the window (plus a little pipe slack) was read while /slow was pending.
    expect(pulled).toBeLessThan(LOOKAHEAD_BYTES + 64 * 1024);
    expect(net.requested('/near')).toHaveLength(1); // inside the window: already started
    expect(net.requested('/far')).toHaveLength(0); // beyond it: not yet
    slow.open();
    const text = await body;
    expect(text.startsWith('<html><head></head><body>S<p>')).toBe(true);
    expect(text).toContain(`N${filler}`);
    expect(text).toContain(`F${filler}`);
    expect(pulled).toBeGreaterThan(2_000_000);
  });
});

describe('odd markup', () => {
  it('leaves void slot elements alone, lets an outer slot win, and drops includes without src', async () => {
    const net = upstream({
      '/page': () =>
        esiPage('<img data-slot="a" src="x.png"><div data-slot="a"><span data-slot="b">in</span></div><esi:include src=""/><esi:include/><p>z</p>'),
      '/a': () => html('A'),
      '/b': () => html('B'),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { a: { src: '/a' }, b: { src: '/b' } } });
    expect(await (await get('/page')).text()).toBe('<img data-slot="a" src="x.png"><div data-slot="a">A</div><p>z</p>');
  });
});

describe('ESI inside a fragment', () => {
  it('is decided when the fragment is rendered, not when it arrives before the origin opted in', async () => {
    const fragmentServed = gate();
    const net = upstream({
      '/page': async () => {
        await fragmentServed.opened;
        await delay(20); // let the fragment's body settle before the origin's headers arrive
        return esiPage('[<div data-slot="f"></div>]');
      },
      '/f': () => {
        fragmentServed.open();
        return html('<esi:include src="/nested"/>');
      },
      '/nested': () => html('nested'),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' } } });
    expect(await (await get('/page')).text()).toBe('[<div data-slot="f">nested</div>]');
  });
});

describe('the end of the origin body', () => {
  it('loses no byte of a tag the page leaves unfinished, on an out-of-order page', async () => {
    const net = upstream({ '/page': () => html('<html><body><p>a</p><div data-slot="s">own</div><p>b <'), '/s': () => html('S') });
    const get = gatewayFor(net, { route: '/page', placement: 'out-of-order', inOrderFor: [], fragments: { s: { src: '/s' } } } as RouteManifest);
    expect(await (await get('/page')).text()).toMatch(/<p>b <$/);
  });

  it('loses no byte of an include cut off inside a script', async () => {
    const net = upstream({ '/page': () => esiPage('<p>a</p><script>var x="<esi:inc') });
    const get = gatewayFor(net, { route: '/page', esi: 'on' } as RouteManifest);
    expect(await (await get('/page')).text()).toBe('<p>a</p><script>var x="<esi:inc');
  });
});
