import { describe, expect, it } from 'vitest';
import type { PlacedFragment } from '../../../gateway/contract/fragment-source';
import { ConnectionSlots } from '../../../gateway/fetch/connection-slots';
import { HeaderLatency } from '../../../gateway/fetch/header-latency';
import { HostPolicy } from '../../../gateway/fetch/host-policy';
import { FragmentSession } from '../../../gateway/fragments/fragment-session';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { PageTimeline } from '../../../gateway/observe/fragment-events';
import { TraceContext } from '../../../gateway/observe/trace-context';
import { RequestVars } from '../../../gateway/request/request-vars';
import { VisitorRequest } from '../../../gateway/request/visitor-request';
import { compile, gate, html, ORIGIN, upstream } from '../harness';

/**
 * The fragments stage alone: a FragmentSession over a fake network whose
 * fragments answer in an order the test chooses. No origin page, no
 * rewriter: what the session promises the assembler and the scan.
 */
function sessionFor(manifest: RouteManifest, net: ReturnType<typeof upstream>) {
  const route = compile(manifest).routes[0];
  const request = new Request('https://shop.test/page');
  const visitor = new VisitorRequest({ request, url: new URL(request.url), params: {} });
  const page = new AbortController();
  const kept: Promise<unknown>[] = [];
  const timeline = new PageTimeline();
  const session = new FragmentSession({
    route,
    policy: new HostPolicy(ORIGIN, route.hosts),
    vars: new RequestVars(visitor),
    request,
    fetch: net.fetch,
    signal: page.signal,
    slots: new ConnectionSlots(route.limits.concurrency),
    latency: new HeaderLatency(),
    trace: TraceContext.from(request),
    observer: timeline,
    began: Date.now(),
    pageEsi: () => false,
    waitUntil: (work) => void kept.push(work),
  });
  return { session, page, kept, timeline };
}

const content = (placed: PlacedFragment) => placed.result.html;

describe('the fragments stage alone', () => {
  it('starts every declared fragment at once, and hands each to the assembler as it settles, in whatever order', async () => {
    const gates = { a: gate(), b: gate(), c: gate() };
    // A latch that opens once all three requests are out, none of them answered yet.
    const allSent = gate();
    let sent = 0;
    const answer = (id: keyof typeof gates) => async () => {
      if (++sent === 3) allSent.open();
      await gates[id].opened;
      return html(id.toUpperCase());
    };
    const net = upstream({ '/a': answer('a'), '/b': answer('b'), '/c': answer('c') });
    const { session } = sessionFor({ route: '/page', fragments: { a: { src: '/a' }, b: { src: '/b' }, c: { src: '/c' } } }, net);
    session.prefetchDeclared();
    await allSent.opened;
    expect(net.maxInFlight).toBe(3);
    const settledOrder: string[] = [];
    const placements = ['a', 'b', 'c'].map((id) => {
      const placement = session.slot(id, 0)!;
      expect(placement.ready).toBe(false);
      return placement.ready
        ? Promise.resolve(placement.fragment)
        : placement.fragment.then((f) => {
            settledOrder.push(id);
            return f;
          });
    });
    gates.c.open();
    gates.a.open();
    gates.b.open();
    expect((await Promise.all(placements)).map(content)).toEqual(['A', 'B', 'C']);
    expect(settledOrder).toEqual(['c', 'a', 'b']);
    // Settled now: the assembler places them without waiting.
    expect(session.slot('b', 0)?.ready).toBe(true);
  });

  it('tells the scan which markers the rewriter will wait at, and shares one fetch between a slot and an include of its src', async () => {
    const slow = gate();
    const net = upstream({
      '/a': async () => {
        await slow.opened;
        return html('A');
      },
      '/b': () => html('B'),
    });
    const { session } = sessionFor({ route: '/page', fragments: { a: { src: '/a' } } }, net);
    session.prefetchDeclared();
    expect(session.discovery.slot('a')).toBe(true);
    expect(session.discovery.include({ src: '/a' } as never)).toBe(true);
    slow.open();
    await (session.slot('a', 0) as { fragment: Promise<PlacedFragment> }).fragment;
    expect(session.discovery.slot('a')).toBe(false);
    expect(net.requested('/a')).toHaveLength(1);
  });

  it('keeps every chain alive past the page, and cancels the ones nobody will read', async () => {
    const never = gate();
    const net = upstream({
      '/a': async () => {
        await never.opened;
        return html('A');
      },
    });
    const { session, kept } = sessionFor({ route: '/page', fragments: { a: { src: '/a', timeout: '5s', fallback: { html: 'F' } } } }, net);
    session.prefetchDeclared();
    expect(kept.length).toBeGreaterThanOrEqual(1);
    session.cancel();
    await Promise.all(kept);
    const placement = session.slot('a', 0)!;
    expect(placement.ready && placement.fragment.result).toMatchObject({ source: 'fallback-html', html: 'F' });
  });

  it('says a required fragment that failed before the status line goes out', async () => {
    const net = upstream({ '/ok': () => html('ok'), '/down': () => html('no', {}, 503) });
    const { session } = sessionFor({ route: '/page', fragments: { ok: { src: '/ok', required: true }, down: { src: '/down', required: true } } }, net);
    const required = await session.requiredDelivered();
    expect(required.ok).toBe(false);
    expect(required.failed.map((r) => r.id)).toEqual(['down']);
  });
});
