import { describe, expect, it } from 'vitest';
import { delay, gate, gatewayFor, html, upstream } from '../harness';

/**
 * Workers lets an invocation have a few connections *waiting for response
 * headers* and queues the rest; the gateway counts them the same way, and
 * decides which queued fetch goes next.
 */
describe('connection slots', () => {
  it('frees a slot when response headers arrive, while the body is still being read', async () => {
    const bodies = gate();
    const streamed = (text: string) => () =>
      html(
        new ReadableStream({
          async start(controller) {
            await bodies.opened;
            controller.enqueue(new TextEncoder().encode(text));
            controller.close();
          },
        }),
      );
    const net = upstream({
      '/page': () => html('<div data-slot="a"></div><div data-slot="b"></div><div data-slot="c"></div>'),
      '/a': streamed('A'),
      '/b': streamed('B'),
      '/c': () => html('C'),
    });
    const get = gatewayFor(net, {
      route: '/page',
      limits: { concurrency: 2 },
      fragments: { a: { src: '/a', timeout: '5s' }, b: { src: '/b', timeout: '5s' }, c: { src: '/c', timeout: '5s' } },
    });
    const page = get('/page').then((response) => response.text());
    // a and b have their headers but not their bodies, and c is sent all the same.
    while (net.requested('/c').length === 0) await delay(5);
    bodies.open();
    expect(await page).toBe('<div data-slot="a">A</div><div data-slot="b">B</div><div data-slot="c">C</div>');
  });

  it('sends queued fetches in document order once the page shows it', async () => {
    const held = { a: gate(), b: gate() };
    const sent: string[] = [];
    const fragment = (name: string, wait?: Promise<void>) => async () => {
      sent.push(name);
      await wait;
      return html(name.toUpperCase());
    };
    const net = upstream({
      // Declared a, b, c, d; the page places them d, c, b, a.
      '/page': () => html('<h1>head</h1><div data-slot="d"></div><div data-slot="c"></div><div data-slot="b"></div><div data-slot="a"></div>'),
      '/a': fragment('a', held.a.opened),
      '/b': fragment('b', held.b.opened),
      '/c': fragment('c'),
      '/d': fragment('d'),
    });
    const spec = (src: string) => ({ src, timeout: '5s' });
    const get = gatewayFor(net, {
      route: '/page',
      limits: { concurrency: 2 },
      fragments: { a: spec('/a'), b: spec('/b'), c: spec('/c'), d: spec('/d') },
    });
    const response = await get('/page');
    const reader = response.body!.getReader();
    // The head has streamed, so the page's markers have been read; a and b hold both slots.
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('<h1>head</h1>');
    expect(sent).toEqual(['a', 'b']);
    held.b.open();
    held.a.open();
    let body = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) body += new TextDecoder().decode(chunk.value);
    expect(sent).toEqual(['a', 'b', 'd', 'c']);
    expect(body).toContain('<div data-slot="d">D</div><div data-slot="c">C</div>');
  });

  it('sends the fragment known to be slowest first, once the isolate has seen it answer', async () => {
    const sent: string[] = [];
    const net = upstream({
      '/page': () => html('<div data-slot="a"></div><div data-slot="b"></div>'),
      '/a': () => {
        sent.push('a');
        return html('A');
      },
      '/b': async () => {
        sent.push('b');
        await delay(120);
        return html('B');
      },
    });
    const get = gatewayFor(net, {
      route: '/page',
      limits: { concurrency: 1 },
      fragments: { a: { src: '/a', timeout: '5s' }, b: { src: '/b', timeout: '5s' } },
    });
    const page = '<div data-slot="a">A</div><div data-slot="b">B</div>';
    expect(await (await get('/page')).text()).toBe(page);
    expect(sent).toEqual(['a', 'b']); // nothing known yet: the order they were declared in
    sent.length = 0;
    expect(await (await get('/page')).text()).toBe(page);
    expect(sent).toEqual(['b', 'a']);
  });

  it('starts a fragment timeout when its request is sent, not while it waits for a slot', async () => {
    const first = gate();
    const net = upstream({
      '/page': () => html('<div data-slot="slow"></div><div data-slot="quick"></div>'),
      '/slow': async () => {
        await first.opened;
        return html('S');
      },
      '/quick': () => html('Q'),
    });
    const get = gatewayFor(net, {
      route: '/page',
      limits: { concurrency: 1 },
      fragments: { slow: { src: '/slow', timeout: '5s' }, quick: { src: '/quick', timeout: '100ms', fallback: { html: 'timed out' } } },
    });
    const page = get('/page').then((response) => response.text());
    // quick waits in the queue for longer than its own timeout.
    await delay(300);
    expect(net.requested('/quick')).toHaveLength(0);
    first.open();
    expect(await page).toBe('<div data-slot="slow">S</div><div data-slot="quick">Q</div>');
  });
});
