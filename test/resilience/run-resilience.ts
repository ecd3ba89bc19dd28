import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { checkManifest } from '../../cli/load-manifests';
import { type RunningWorker, startWorker } from '../../cli/workerd-host';
import type { CompiledRoute } from '../../gateway/contract/types';
import { assembleManifests } from '../../gateway/manifest/compile';
import { FRAGMENT_IDS, fragmentHtml, hostileSrcs, pageHtml, slotFallback, startAttacker, startFaultOrigin } from './fault-origin';

/**
 * The resilience run: the real gateway in workerd on 127.0.0.1, under load,
 * with failing fragments, broken origins, disconnecting clients and hostile
 * requests. Every loop is bounded in count and time, and it stops by itself.
 * It returns counts; the invariants are that no byte of a served page is lost,
 * every fault is survived and every hostile input is refused.
 */
export interface ResilienceOptions {
  /** Assembled pages in the load run. */
  pages: number;
  concurrency: number;
  /** Requests per origin fault (broken body, stalled body, no headers) and client disconnects. */
  faultRequests: number;
  /** Upper bound on the load run, whatever `pages` says. */
  seconds: number;
}

/** `npm run resilience`: about a minute on two cores. */
export const FULL_RUN: ResilienceOptions = { pages: 5000, concurrency: 64, faultRequests: 20, seconds: 120 };
/** The subset `npm test` runs: seconds, not minutes. */
export const QUICK_RUN: ResilienceOptions = { pages: 300, concurrency: 16, faultRequests: 3, seconds: 30 };

export interface ResilienceReport {
  pagesServed: number;
  pagesBroken: number;
  bytesLost: number;
  faultsInjected: number;
  faultsSurvived: number;
  originFaults: { sent: number; logged: number; answered504: number };
  disconnects: { sent: number; fragmentsCancelled: number };
  hostile: { sent: number; refused: number; attackerHits: string[] };
  /** Normal pages right after pages that ended early (404, not HTML), needing the same shared fetch: how many got it. */
  afterEarlyEnds: { sent: number; served: number };
  /** After a flood of query values past the variant budget, and one TTL: whether the fragment is cached again. */
  variantFlood: { sent: number; cachedAfter: boolean };
  /** Requests with a control byte in a header value: answered 400, never passed to the origin. */
  badHeaderBytes: { sent: number; answered400: number; reachedOrigin: number };
  durationMs: number;
}

const MANIFESTS: Record<string, string> = {
  pages: `route: /page/:n
esi: on
defaults: { timeout: 300ms }
fragments:
${FRAGMENT_IDS.map((id) => `  ${id}: { src: "/frag/${id}/{params.n}", timeout: 300ms, fallback: keep }`).join('\n')}
`,
  // workerd notices a disconnect when a write fails: \`quick\` settles after the client
  // has gone, its write fails, and \`hold\` must be cancelled then, not run its 10 s.
  hold: `route: /hold/:n
fragments:
  quick: { src: /t/quick, fallback: keep }
  hold: { src: "/frag/hold/{params.n}", timeout: 10s, fallback: keep }
`,
  faults: `routes: [/broken/:n, /stall/:n, /hang/:n]
timeouts: { origin: 300ms, originIdle: 300ms }
fragments:
  a: { src: "/frag/a/{params.n}", fallback: keep }
`,
  hostile: `route: /hostile-esi/:n
esi: on
`,
  early: `route: /early/:kind
fragments:
  s: { src: /shared, ttl: 1m, timeout: 2s, fallback: { html: FALLBACK } }
`,
  variants: `route: /variants/:n
limits: { variantsPerFragment: 20 }
fragments:
  v: { src: "/variant?q={query.q}", ttl: 1s, timeout: 2s }
`,
  templates: `route: /tpl/:x
fragments:
  t: { src: "/t/{params.x}/end?q={query.q}", fallback: keep }
`,
};

function compileAll(sources: Record<string, string>): CompiledRoute[] {
  return Object.entries(sources).map(([name, text]) => {
    const { route, diagnostics } = checkManifest(text, `${name}.yaml`, name);
    if (!route) throw new Error(diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`).join('\n'));
    return route;
  });
}

interface Fetched {
  status: number;
  body: string;
  /** The response ended with a clean end of message (not a reset). */
  complete: boolean;
}

export async function runResilience(options: ResilienceOptions): Promise<ResilienceReport> {
  const began = Date.now();
  const origin = await startFaultOrigin();
  const attacker = await startAttacker();
  const logs: string[] = [];
  let gateway: RunningWorker | undefined;
  let catchAll: RunningWorker | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    gateway = await startWorker({
      routes: assembleManifests(compileAll(MANIFESTS)),
      bindings: { ORIGIN: origin.url },
      onLog: (line) => logs.push(line),
    });
    catchAll = await startWorker({
      routes: assembleManifests(compileAll({ all: 'route: /*\nfragments:\n  a: { src: "/frag/a/0", fallback: keep }\n' })),
      bindings: { ORIGIN: origin.url },
    });
    const get = (base: string, path: string, init: { method?: string; headers?: Record<string, string>; disconnect?: boolean } = {}) =>
      rawRequest(agent, base, path, init);

    // Load: every page must arrive whole, with each fragment or its fallback in place.
    let pagesServed = 0;
    let pagesBroken = 0;
    let bytesLost = 0;
    let faultsSurvived = 0;
    let next = 0;
    const deadline = began + options.seconds * 1000;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < options.pages && Date.now() < deadline) {
          const n = String(next++);
          const page = await get(gateway!.url, `/page/${n}`);
          const lost = lostBytes(n, page);
          bytesLost += lost;
          if (lost === 0 && page.status === 200 && page.complete && slotsFilled(page.body)) {
            pagesServed++;
            faultsSurvived += origin.faultsByPage.get(n)?.length ?? 0;
          } else pagesBroken++;
        }
      }),
    );
    const faultsInjected = [...origin.faultsByPage.values()].reduce((sum, faults) => sum + faults.length, 0);

    // Origin faults: a broken or stalled body is logged as a failure; no headers at all is a 504.
    let answered504 = 0;
    for (let i = 0; i < options.faultRequests; i++) {
      await get(gateway.url, `/broken/${i}`);
      await get(gateway.url, `/stall/${i}`);
      if ((await get(gateway.url, `/hang/${i}`)).status === 504) answered504++;
    }
    const logged = await waitFor(() => logs.filter((l) => /origin body (broke|stalled)/.test(l)).length, 2 * options.faultRequests, 3000);

    // Clients that go away while a fragment is pending: the fragment request must be cancelled.
    await Promise.all(Array.from({ length: options.faultRequests }, (_, i) => get(gateway!.url, `/hold/${i}`, { disconnect: true })));
    const fragmentsCancelled = await waitFor(origin.heldClosed, options.faultRequests, 5000);

    // Pages that end early must not leave their shared fragment fetch hanging for the pages after them.
    let servedAfterEarly = 0;
    for (let i = 0; i < options.faultRequests; i++) {
      for (const early of ['/early/missing', '/early/text']) {
        await get(gateway.url, early);
        const next = await get(gateway.url, '/early/ok');
        if (next.body.includes('<b>shared</b>')) servedAfterEarly++;
      }
    }

    // A visitor with many query values fills the variant budget; once those entries expire the fragment is cached again.
    const floodSize = 100;
    for (let i = 0; i < floodSize; i++) await get(gateway.url, `/variants/1?q=flood${i}`);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    await get(gateway.url, '/variants/1?q=popular');
    await get(gateway.url, '/variants/1?q=popular');
    const cachedAfter = origin.paths.filter((p) => p === '/variant?q=popular').length === 1;

    // A header value with a byte HTTP does not allow: a clear 400, never a false origin alarm, never an origin request.
    const badBytes = ['\x01', '\x7f', '\x1f'];
    let answered400 = 0;
    const originBefore = origin.paths.length;
    for (const [i, byte] of badBytes.entries()) {
      const status = await rawStatus(gateway.url, `GET /page/bad${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a${byte}b\r\nConnection: close\r\n\r\n`);
      if (status === 400) answered400++;
    }
    const reachedOrigin = origin.paths.slice(originBefore).filter((p) => p.startsWith('/page/bad')).length;

    // Hostile inputs: each must be refused, and the attacker must never hear from us.
    let sent = 0;
    let refused = 0;
    const hostileCheck = (ok: boolean) => {
      sent++;
      if (ok && attacker.hits.length === 0) refused++;
    };
    const { port } = new URL(attacker.url);
    const credentials = { cookie: 'sid=victim', authorization: 'Bearer victim' };
    for (const base of [gateway.url, catchAll.url]) {
      for (const path of [`//127.0.0.2:${port}/x`, `///127.0.0.2:${port}/x`, `/\\127.0.0.2:${port}/x`, `/%2F%2F127.0.0.2:${port}/x`]) {
        for (const method of ['GET', 'HEAD', 'POST']) {
          const response = await get(base, path, { method, headers: credentials });
          hostileCheck(!response.body.includes('attacker'));
        }
      }
    }
    const esiPage = await get(gateway.url, `/hostile-esi/1?attacker=${encodeURIComponent(attacker.url)}`);
    for (const _ of hostileSrcs(attacker.url)) hostileCheck(esiPage.status === 200 && esiPage.body.includes('[]'));
    for (const query of ['..', '.', '%2e%2e', '..%2F..%2Fadmin', 'a%0d%0aX-Injected:%201']) {
      const before = origin.paths.length;
      await get(gateway.url, `/tpl/x?q=${query}`);
      const escaped = origin.paths.slice(before).some((p) => p.startsWith('/end') || p.startsWith('/t/end') || /^\/t\/x\/end\?q=\.\.?$/.test(p));
      hostileCheck(!escaped);
    }
    await get(gateway.url, '/page/hostile', { headers: { 'x-forwarded-host': 'evil.test', host: 'evil.test' } });
    hostileCheck(!origin.forwardedHosts.has('evil.test'));

    return {
      pagesServed,
      pagesBroken,
      bytesLost,
      faultsInjected,
      faultsSurvived,
      originFaults: { sent: 3 * options.faultRequests, logged, answered504 },
      disconnects: { sent: options.faultRequests, fragmentsCancelled },
      hostile: { sent, refused, attackerHits: attacker.hits },
      afterEarlyEnds: { sent: 2 * options.faultRequests, served: servedAfterEarly },
      variantFlood: { sent: floodSize, cachedAfter },
      badHeaderBytes: { sent: badBytes.length, answered400, reachedOrigin },
      durationMs: Date.now() - began,
    };
  } finally {
    agent.destroy();
    await gateway?.dispose();
    await catchAll?.dispose();
    await origin.close();
    await attacker.close();
  }
}

/** What a run must show: nothing lost, every fault survived, every hostile input refused. */
export function violations(r: ResilienceReport): string[] {
  const out: string[] = [];
  if (r.bytesLost !== 0) out.push(`${r.bytesLost} bytes lost`);
  if (r.pagesBroken !== 0) out.push(`${r.pagesBroken} pages not served intact`);
  if (r.faultsSurvived !== r.faultsInjected) out.push(`${r.faultsInjected - r.faultsSurvived} fragment faults not survived`);
  if (r.originFaults.logged < (2 * r.originFaults.sent) / 3) out.push('a broken or stalled origin body was not logged');
  if (r.originFaults.answered504 !== r.originFaults.sent / 3) out.push('an origin without headers was not answered 504');
  if (r.disconnects.fragmentsCancelled !== r.disconnects.sent) out.push('a fragment outlived its disconnected client');
  if (r.afterEarlyEnds.served !== r.afterEarlyEnds.sent)
    out.push(`${r.afterEarlyEnds.sent - r.afterEarlyEnds.served} pages after an early end missed a shared fragment`);
  if (r.badHeaderBytes.answered400 !== r.badHeaderBytes.sent || r.badHeaderBytes.reachedOrigin)
    out.push('a header with a control byte was not answered 400, or reached the origin');
  if (!r.variantFlood.cachedAfter) out.push('a flood of query values switched caching off for a fragment');
  if (r.hostile.refused !== r.hostile.sent || r.hostile.attackerHits.length) out.push(`hostile inputs got through: ${r.hostile.attackerHits.join('; ')}`);
  return out;
}

/** Origin bytes missing from a served page: everything outside the slots must arrive as sent. */
function lostBytes(n: string, page: Fetched): number {
  const skeleton = (html: string) =>
    html
      .replace(/(<div data-slot="\w+">)[\s\S]*?(<\/div>)/g, '$1$2')
      .replace(/<esi:include [^>]*\/>/, '')
      .replace(fragmentHtml('e'), '');
  const expected = skeleton(pageHtml(n));
  const received = skeleton(page.body);
  if (received === expected) return 0;
  return Math.max(1, expected.length - commonPrefix(expected, received));
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}

function slotsFilled(body: string): boolean {
  return FRAGMENT_IDS.every((id) => {
    const inner = new RegExp(`<div data-slot="${id}">([\\s\\S]*?)</div>`).exec(body)?.[1];
    return inner === fragmentHtml(id) || inner === slotFallback(id);
  });
}

/** A request with the path exactly as given (no normalisation), as curl --path-as-is sends it. */
function rawRequest(
  agent: Agent,
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; disconnect?: boolean },
): Promise<Fetched> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const req = httpRequest({ host: hostname, port, path, method: init.method ?? 'GET', headers: init.headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (init.disconnect) req.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, complete: false }));
      res.on('close', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
    });
    req.setTimeout(15_000, () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '', complete: false }));
    if (init.method === 'POST') req.end('payload');
    else req.end();
  });
}

/** The status of a request written byte for byte on a socket (node's client refuses to send control bytes in headers). */
function rawStatus(base: string, request: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.end(request, 'latin1'));
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on('error', () => resolve(0));
  });
}

/** Polls a count until it reaches `target` or the time runs out; returns the last count. */
async function waitFor(count: () => number, target: number, ms: number): Promise<number> {
  for (const until = Date.now() + ms; count() < target && Date.now() < until; ) await new Promise((r) => setTimeout(r, 25));
  return count();
}
