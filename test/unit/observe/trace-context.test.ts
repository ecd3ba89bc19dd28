import { describe, expect, it } from 'vitest';
import { esiPage, gatewayFor, html, upstream } from '../harness';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function tracedPage() {
  const net = upstream({
    '/page': () => esiPage('<div data-slot="a"></div><esi:include src="/b"/>'),
    '/a': () => html('A'),
    '/b': () => html('B'),
  });
  const get = gatewayFor(net, { route: '/page', fragments: { a: { src: '/a' } } });
  const spans = () => ['/page', '/a', '/b'].map((path) => TRACEPARENT.exec(net.requested(path)[0].headers.get('traceparent') ?? ''));
  return { net, get, spans };
}

describe('trace context', () => {
  it("continues the client's trace to the origin and every fragment, each request a span of its own", async () => {
    const { net, get, spans } = tracedPage();
    const client = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await (await get('/page', { headers: { traceparent: client, tracestate: 'vendor=1' } })).text();
    const [origin, a, b] = spans();
    for (const span of [origin, a, b]) {
      expect(span?.[1]).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(span?.[2]).not.toBe('00f067aa0ba902b7');
      expect(span?.[3]).toBe('01');
    }
    expect(new Set([origin?.[2], a?.[2], b?.[2]]).size).toBe(3);
    expect(net.requested('/a')[0].headers.get('tracestate')).toBe('vendor=1');
  });

  it('starts a trace when the client sent none, or one that is not valid', async () => {
    const cases: Array<Record<string, string>> = [{}, { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }, { traceparent: 'garbage' }];
    for (const headers of cases) {
      const { get, spans } = tracedPage();
      await (await get('/page', { headers })).text();
      const [origin, a, b] = spans();
      expect(origin?.[1]).toMatch(/^[0-9a-f]{32}$/);
      expect(origin?.[1]).not.toBe('0'.repeat(32));
      expect(a?.[1]).toBe(origin?.[1]);
      expect(b?.[1]).toBe(origin?.[1]);
    }
  });
});
