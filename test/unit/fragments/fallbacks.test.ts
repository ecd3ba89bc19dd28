import { describe, expect, it } from 'vitest';
import { delay, esiPage, gatewayFor, html, upstream } from '../harness';

const page = () => html('<html><head></head><body><div data-slot="f">own content</div></body></html>');
const slotContent = (body: string) => /<div data-slot="f">(.*)<\/div>/.exec(body)?.[1];

describe('failure chain: src → fallback src → fallback html → keep → empty', () => {
  const timingOut = async () => {
    await delay(2000);
    return html('too late');
  };

  it('uses the fallback src when the src times out', async () => {
    const net = upstream({ '/page': page, '/f': timingOut, '/backup': () => html('backup') });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', timeout: '50ms', fallback: { src: '/backup', html: 'static' } } } });
    const response = await get('/page');
    expect(slotContent(await response.text())).toBe('backup');
    expect(response.headers.get('server-timing')).toMatch(/fragment\.f;(desc="pending"|dur=\d+;desc="fallback";cause="timeout")/);
  });

  it('uses the fallback html when the fallback src fails too', async () => {
    const net = upstream({ '/page': page, '/f': timingOut, '/backup': () => html('down', {}, 500) });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', timeout: '50ms', fallback: { src: '/backup', html: 'static' } } } });
    expect(slotContent(await (await get('/page')).text())).toBe('static');
  });

  it("keeps the marker's own content with fallback: keep", async () => {
    const net = upstream({ '/page': page, '/f': () => html('boom', {}, 503) });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', fallback: 'keep' } } });
    expect(slotContent(await (await get('/page')).text())).toBe('own content');
  });

  it('renders empty when nothing else is declared', async () => {
    const net = upstream({ '/page': page, '/f': () => html('boom', {}, 500) });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' } } });
    expect(slotContent(await (await get('/page')).text())).toBe('');
  });

  it('uses the esi:include alt attribute when src fails', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/missing" alt="/alt" onerror="continue"/>'),
      '/alt': () => html('ALT'),
    });
    const get = gatewayFor(net, { route: '/page' });
    expect(await (await get('/page')).text()).toBe('ALT');
  });

  it('times out a fragment whose body stalls after its headers', async () => {
    const net = upstream({
      '/page': page,
      '/f': () =>
        html(
          new ReadableStream({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode('<p>start'));
              await delay(2000);
              controller.close();
            },
          }),
        ),
    });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', timeout: '100ms', fallback: 'keep' } } });
    // Had the timeout covered only the headers, the slot would hold "<p>start".
    expect(slotContent(await (await get('/page')).text())).toBe('own content');
  });

  it('treats a fragment over the size cap as failed', async () => {
    const net = upstream({ '/page': page, '/f': () => html('x'.repeat(5000)) });
    const get = gatewayFor(net, { route: '/page', limits: { maxFragmentBytes: 1000 }, fragments: { f: { src: '/f', fallback: 'keep' } } });
    expect(slotContent(await (await get('/page')).text())).toBe('own content');
  });

  it('treats an unresolvable src (missing variable, no default) as failed', async () => {
    const net = upstream({ '/page': page });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f?u={cookie.user}', fallback: { html: 'guest' } } } });
    expect(slotContent(await (await get('/page')).text())).toBe('guest');
    expect(net.calls.map((c) => new URL(c.url).pathname)).toEqual(['/page']);
  });
});

describe('required fragments', () => {
  it('fails the page with the onFailure status when a required fragment fails', async () => {
    const net = upstream({ '/page': page, '/f': () => html('boom', {}, 500) });
    const get = gatewayFor(net, {
      route: '/page',
      onFailure: { status: 503, html: '<h1>Back soon</h1>' },
      fragments: { f: { src: '/f', required: true, fallback: { html: 'not enough' } } },
    });
    const response = await get('/page');
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('<h1>Back soon</h1>');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('answers 502 by default, and awaits a slow required fragment before the status', async () => {
    const net = upstream({
      '/page': page,
      '/f': async () => {
        await delay(100);
        return html('vital');
      },
    });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', required: true } } });
    const response = await get('/page');
    expect(response.status).toBe(200);
    // Settled before the headers left, so it is timed rather than pending.
    expect(response.headers.get('server-timing')).toMatch(/fragment\.f;dur=\d+;desc="miss"/);
    expect(slotContent(await response.text())).toBe('vital');

    const failing = upstream({
      '/page': page,
      '/f': async () => {
        await delay(100);
        return html('', {}, 500);
      },
    });
    const failed = await gatewayFor(failing, { route: '/page', fragments: { f: { src: '/f', required: true } } })('/page');
    expect(failed.status).toBe(502);
    expect(await failed.text()).toContain('temporarily unavailable');
  });

  it('never breaks the page for a failing optional fragment', async () => {
    const net = upstream({ '/page': page, '/f': () => Promise.reject(new Error('connection reset')) });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' } } });
    const response = await get('/page');
    expect(response.status).toBe(200);
    expect(slotContent(await response.text())).toBe('');
  });
});
