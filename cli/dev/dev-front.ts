import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorPage } from '../../gateway/http/error-page';
import { unforwardableHeader, unforwardableHeaderMessage } from '../../gateway/request/request-header-bytes';

/**
 * The socket `tessera dev` listens on: a small Node HTTP proxy in front of
 * workerd, so the port stays open while workerd restarts with new manifests.
 *
 * A reload runs through `swap`: requests that arrive meanwhile are held (not
 * refused), those already under way are allowed to finish (up to `drainMs`),
 * then workerd restarts and the held requests go to the new Worker. Holding
 * keeps one Miniflare instance, so the Cache API, KV and Durable Object state
 * of the session outlive a reload, as they did before; the price is that a
 * request arriving during the swap waits for it (a few hundred milliseconds).
 */
export interface DevFront {
  url: string;
  /** Runs `restart` with no request in flight to the Worker; new requests wait for it. */
  swap(restart: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function startDevFront(port: number, upstream: () => string, drainMs = 3000): Promise<DevFront> {
  let gate: Promise<void> | undefined;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let agent = new Agent({ keepAlive: true });
  const tunnels = new Set<Duplex>();

  const held = async () => {
    while (gate) await gate;
  };

  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    await held();
    inFlight++;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      inFlight--;
      if (inFlight === 0) drained?.();
    };
    // Node's client will not write such a header, so the front answers as the gateway would (gateway.ts).
    const unforwardable = unforwardableHeader(headerPairs(req.rawHeaders));
    if (unforwardable) {
      const page = errorPage(400, unforwardableHeaderMessage(unforwardable.toLowerCase()));
      res.writeHead(page.status, Object.fromEntries(page.headers)).end(await page.text());
      finish();
      return;
    }
    const target = new URL(upstream());
    const upstreamRequest = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
      // Streamed as it comes: out-of-order pages and the debug view depend on it.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstreamRequest.on('error', (error) => {
      if (!res.headersSent) {
        const code = (error as { code?: string }).code ?? error.message;
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`tessera dev: the Worker did not answer (${code})\n`);
      } else res.destroy();
      finish();
    });
    res.on('close', () => {
      // The client went away first: so does the request to the Worker.
      if (!res.writableFinished) upstreamRequest.destroy();
      finish();
    });
    req.pipe(upstreamRequest);
  };

  // The lenient parser lets header bytes that HTTP forbids through to `forward`, which answers them as the gateway would.
  const server = createServer({ insecureHTTPParser: true }, (req, res) => void forward(req, res));
  // WebSockets (the gateway proxies them to the origin): the raw connection is tunnelled; a reload cuts it.
  server.on('upgrade', async (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => {});
    await held();
    const target = new URL(upstream());
    const worker: Socket = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      worker.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) worker.write(head);
      client.pipe(worker).pipe(client);
    });
    tunnels.add(client);
    const end = () => {
      tunnels.delete(client);
      client.destroy();
      worker.destroy();
    };
    worker.on('error', end).on('close', end);
    client.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    async swap(restart) {
      let open = () => {};
      gate = new Promise((resolve) => {
        open = resolve;
      });
      try {
        if (inFlight > 0) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            new Promise<void>((resolve) => {
              drained = resolve;
            }),
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, drainMs);
            }),
          ]);
          clearTimeout(timer);
          drained = undefined;
        }
        for (const tunnel of tunnels) tunnel.destroy();
        await restart();
        // Kept-alive connections were to the workerd that is gone.
        agent.destroy();
        agent = new Agent({ keepAlive: true });
      } finally {
        gate = undefined;
        open();
      }
    },
    async close() {
      for (const tunnel of tunnels) tunnel.destroy();
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function headerPairs(raw: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i], raw[i + 1]]);
  return pairs;
}
