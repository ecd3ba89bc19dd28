import { describe, expect, it } from 'vitest';
import { gate, gatewayFor, html, upstream } from '../harness';

const encoder = new TextEncoder();

/** An origin body that sends `first` and then does what `then` says. */
function originBody(first: string, then: (controller: ReadableStreamDefaultController<Uint8Array>) => void): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(encoder.encode(first));
        return;
      }
      then(controller);
      return new Promise(() => {}); // and nothing more
    },
  });
}

/** A fragment that answers only when the test opens its gate, and tells when its request was aborted. */
function heldFragment() {
  const aborted = gate();
  const release = gate();
  const handler = async (request: Request) => {
    request.signal.addEventListener('abort', aborted.open);
    await release.opened;
    return html('late');
  };
  return { handler, aborted: aborted.opened, release: release.open };
}

describe('origin timeouts', () => {
  it('answers 504 with a readable page when the origin sends no headers in time', async () => {
    const net = upstream({ '/page': () => new Promise<Response>(() => {}) });
    const response = await gatewayFor(net, { route: '/page', timeouts: { origin: '30ms' } })('/page');
    expect(response.status).toBe(504);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toContain('The origin server did not answer in time.');
  });

  it('ends the page as a failure when the origin body stalls, and stops the fragments still in flight', async () => {
    const fragment = heldFragment();
    const net = upstream({ '/page': () => html(originBody('<html><body><div data-slot="f"></div><p>start', () => {})), '/f': fragment.handler });
    const response = await gatewayFor(net, { route: '/page', timeouts: { originIdle: '40ms' }, fragments: { f: { src: '/f', timeout: '10s' } } })('/page');
    await expect(response.text()).rejects.toThrow('origin body stalled for 40ms');
    await fragment.aborted;
  });

  it('ends the page as a failure when the whole page takes longer than its deadline', async () => {
    let ticks = 0;
    const trickle = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        controller.enqueue(encoder.encode(`<p>${ticks++}</p>`));
      },
    });
    const net = upstream({ '/page': () => html(trickle) });
    const response = await gatewayFor(net, { route: '/page', timeouts: { page: '80ms', originIdle: '1s' } })('/page');
    await expect(response.text()).rejects.toThrow('page took longer than its 80ms deadline');
  });
});

describe('a broken origin body', () => {
  it('errors the page stream instead of ending it cleanly', async () => {
    const net = upstream({ '/page': () => html(originBody('<html><body><p>half', (c) => c.error(new Error('connection reset')))) });
    const response = await gatewayFor(net, { route: '/page' })('/page');
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow('origin body broke after 19 bytes: connection reset');
  });

  it('errors it even while the rewriter waits for a fragment', async () => {
    const fragment = heldFragment();
    const net = upstream({
      '/page': () => html(originBody('<div data-slot="f"></div>', (c) => c.error(new Error('connection reset')))),
      '/f': fragment.handler,
    });
    const response = await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', timeout: '10s' } } })('/page');
    await expect(response.text()).rejects.toThrow('origin body broke');
    await fragment.aborted;
  });
});

describe('a client that goes away', () => {
  it('cancels the origin fetch and every fragment still in flight', async () => {
    const fragment = heldFragment();
    const originCancelled = gate();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('<html><head></head><body><div data-slot="f"></div>'));
      },
      cancel: () => originCancelled.open(),
    });
    const net = upstream({ '/page': () => html(body), '/f': fragment.handler });
    // Workers aborts the request's signal when the client disconnects (the enable_request_signal flag).
    const client = new AbortController();
    const response = await gatewayFor(net, { route: '/page', fragments: { f: { src: '/f', timeout: '10s' } } })('/page', { signal: client.signal });
    const reader = response.body!.getReader();
    await reader.read(); // the head has arrived; the fragment is still pending
    client.abort();
    await Promise.all([fragment.aborted, originCancelled.opened]);
    const rest = async () => {
      while (!(await reader.read()).done);
    };
    await expect(rest()).rejects.toThrow('the client went away');
  });
});
