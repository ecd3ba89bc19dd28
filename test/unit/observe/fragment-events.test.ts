import { describe, expect, it } from 'vitest';
import type { FragmentEvent } from '../../../gateway/observe/fragment-events';
import { delay, gate, gatewayFor, html, upstream } from '../harness';

/**
 * The fragment lifecycle contract: the events one fragment goes through, in
 * order, for each way a fragment can fare. The dev log, Server-Timing, the
 * metrics and the debug view all read these.
 */
function recorder() {
  const events: FragmentEvent[] = [];
  return {
    observer: { event: (event: FragmentEvent) => void events.push(event) },
    /** The event types one fragment went through. */
    of: (fragment: string) => events.filter((e) => e.fragment === fragment).map((e) => e.type),
    events,
  };
}

const page = (slots: string[]) => () => html(slots.map((s) => `<div data-slot="${s}"></div>`).join(''));

describe('fragment lifecycle events', () => {
  it('a fetched fragment: start, sent, response, miss, end, in time order', async () => {
    const log = recorder();
    const net = upstream({ '/page': page(['f']), '/f': () => html('F') });
    await (await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' } } }, { observer: log.observer })('/page')).text();
    expect(log.of('f')).toEqual(['start', 'sent', 'response', 'miss', 'end']);
    const times = log.events.map((e) => e.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(log.events.find((e) => e.type === 'response')).toMatchObject({ status: 200, url: 'https://origin.test/f' });
  });

  it('a cache hit: start, hit, end, and no request', async () => {
    const log = recorder();
    const net = upstream({ '/page': page(['f']), '/f': () => html('F', { 'cache-control': 'max-age=60' }) });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', ttl: '1m' } } }, { observer: log.observer });
    const first = await get('/page');
    await first.text();
    await first.settled();
    log.events.length = 0;
    await (await get('/page')).text();
    expect(log.of('f')).toEqual(['start', 'hit', 'end']);
  });

  it('a fallback: the failed response, then fallback with its cause, then end', async () => {
    const log = recorder();
    const net = upstream({ '/page': page(['f']), '/f': () => html('down', {}, 503) });
    await (await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', fallback: { html: 'sorry' } } } }, { observer: log.observer })('/page')).text();
    expect(log.of('f')).toEqual(['start', 'sent', 'response', 'fallback', 'end']);
    expect(log.events.find((e) => e.type === 'response')).toMatchObject({ status: 503 });
    expect(log.events.find((e) => e.type === 'fallback')).toMatchObject({ source: 'fallback-html', cause: 'error' });
  });

  it('a timeout and a refused host: timeout or error, then end', async () => {
    const log = recorder();
    const net = upstream({
      '/page': page(['slow', 'evil']),
      '/slow': async () => {
        await delay(500);
        return html('late');
      },
    });
    const fragments = { slow: { src: '/slow', timeout: '30ms' }, evil: { src: 'https://{query.h}/x' } };
    await (await gatewayFor(net, { route: '/page', fragments }, { observer: log.observer })('/page?h=evil.test')).text();
    expect(log.of('slow')).toEqual(['start', 'sent', 'timeout', 'end']);
    expect(log.of('evil')).toEqual(['start', 'error', 'end']);
  });

  it('a fetch that waits for a connection slot: queued, with how long, before sent', async () => {
    const log = recorder();
    const first = gate();
    const net = upstream({
      '/page': page(['a', 'b']),
      '/a': async () => {
        await first.opened;
        return html('A');
      },
      '/b': () => html('B'),
    });
    const get = gatewayFor(net, { route: '/page', limits: { concurrency: 1 }, fragments: { a: { src: '/a' }, b: { src: '/b' } } }, { observer: log.observer });
    const body = get('/page').then((r) => r.text());
    await delay(50);
    first.open();
    await body;
    expect(log.of('b')).toEqual(['start', 'queued', 'sent', 'response', 'miss', 'end']);
    expect(log.events.find((e) => e.type === 'queued' && e.fragment === 'b')).toMatchObject({ waitedMs: expect.any(Number) });
  });

  it('feeds one Analytics Engine data point per fragment when TESSERA_METRICS is bound', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const metrics = { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void (point && points.push(point)) };
    const net = upstream({ '/page': page(['f', 'g']), '/f': () => html('F'), '/g': () => html('down', {}, 500) });
    const get = gatewayFor(net, { route: '/page', fragments: { f: { src: '/f' }, g: { src: '/g' } } }, { env: { TESSERA_METRICS: metrics } });
    await (await get('/page')).text();
    const byFragment = points.sort((a, b) => String(a.blobs?.[1]).localeCompare(String(b.blobs?.[1])));
    expect(byFragment.map((p) => p.blobs)).toEqual([
      ['route0', 'f', 'miss', 'src', 'miss'],
      ['route0', 'g', 'error', 'empty', 'none'],
    ]);
    for (const point of points) {
      expect(point.indexes).toEqual(['route0']);
      expect(point.doubles?.[0]).toEqual(expect.any(Number));
    }
  });
});
