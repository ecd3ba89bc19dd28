/**
 * Fragment cache benchmark, ratios measured in one run on loopback:
 *   - an assembled page (about 100 KB, 10 fragments, every fragment a cache
 *     hit) against the pass-through Worker on the same workerd: requests/s
 *     and p99 at concurrency 32 (goal: req/s ratio ≥ 0.8);
 *   - 200 concurrent cold requests for pages sharing one fragment key:
 *     upstream fragment fetches (goal: 1);
 *   - the latency a miss pays for `coalesce: global` (the Durable Object hop).
 * Interleaved A/B rounds; bounded in count; 127.0.0.1 only.
 */
import { Agent, request } from 'node:http';
import { checkManifest } from '../cli/load-manifests';
import { startWorker } from '../cli/workerd-host';
import { assembleManifests } from '../gateway/manifest/compile';
import { PASS_THROUGH_ENTRY, startBenchOrigin } from './bench-origin';
import { serveWorker } from './workerd-serve';

const FULL = process.argv.includes('--full');
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const REQUESTS = Number(process.env.REQUESTS ?? (FULL ? 4000 : 1500));
const ROUNDS = Number(process.env.ROUNDS ?? (FULL ? 7 : 3));
const COLD = 200;

function get(agent: Agent, port: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/page', agent, headers: { 'accept-encoding': 'identity' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

async function load(worker: { url: string }, requests: number, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { port } = new URL(worker.url);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) latencies.push(await get(agent, port));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: requests / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// All hits: ten 1-hour fragments, warmed once.
const hits = await startBenchOrigin({ originMs: 0, fragmentMs: Array(10).fill(5), pageKb: 100, fragmentTtl: '1h' });
// Bare workerd, as in the page assembly bench: no Miniflare entry Worker in front of either.
const gateway = await serveWorker({ routes: hits.manifests, bindings: { ORIGIN: hits.url } });
const passThrough = await serveWorker({ entry: PASS_THROUGH_ENTRY, bindings: { ORIGIN: hits.url } });
try {
  await load(gateway, 50, 4);
  await load(passThrough, 50, 4);
  const warmFetches = hits.fragmentFetches();
  const rounds = { gateway: [] as Array<{ rps: number; p99: number }>, passThrough: [] as Array<{ rps: number; p99: number }> };
  for (let round = 0; round < ROUNDS; round++) {
    rounds.gateway.push(await load(gateway, REQUESTS, CONCURRENCY));
    rounds.passThrough.push(await load(passThrough, REQUESTS, CONCURRENCY));
  }
  const g = { rps: median(rounds.gateway.map((r) => r.rps)), p99: median(rounds.gateway.map((r) => r.p99)) };
  const p = { rps: median(rounds.passThrough.map((r) => r.rps)), p99: median(rounds.passThrough.map((r) => r.p99)) };
  console.log(
    `cached page: ~${Math.round(hits.page.length / 1024)} KB, 10 fragments, all hits; concurrency ${CONCURRENCY}, ${REQUESTS} requests x ${ROUNDS} rounds (median)\n`,
  );
  console.log('worker                 req/s    p99 ms');
  console.log(`pass-through Worker   ${p.rps.toFixed(0).padStart(6)}   ${p.p99.toFixed(1).padStart(7)}`);
  console.log(`Tessera, all hits     ${g.rps.toFixed(0).padStart(6)}   ${g.p99.toFixed(1).padStart(7)}`);
  console.log(`\nreq/s ratio (Tessera ÷ pass-through): ${(g.rps / p.rps).toFixed(2)}   (goal ≥ 0.8)`);
  console.log(`p99 ratio (Tessera ÷ pass-through):   ${(g.p99 / p.p99).toFixed(2)}`);
  console.log(`fragment fetches during the measured rounds: ${hits.fragmentFetches() - warmFetches}`);
} finally {
  await gateway.close();
  await passThrough.close();
  await hits.close();
}

// Cold: 200 concurrent requests for pages whose one fragment shares a key, in a fresh isolate.
const cold = await startBenchOrigin({ originMs: 0, fragmentMs: [100], pageKb: 10, fragmentTtl: '1h' });
const coldGateway = await startWorker({ routes: cold.manifests, bindings: { ORIGIN: cold.url } });
try {
  const agent = new Agent({ keepAlive: true, maxSockets: COLD });
  const { port } = new URL(coldGateway.url);
  await Promise.all(Array.from({ length: COLD }, () => get(agent, port)));
  agent.destroy();
  console.log(`\n${COLD} concurrent cold requests for one fragment key: ${cold.fragmentFetches()} upstream fetch(es)   (goal 1)`);
} finally {
  await coldGateway.dispose();
  await cold.close();
}

// The price of coalesce: global: sequential cold misses, each on a new key, with and without the Durable Object hop.
const priced = await startBenchOrigin({ originMs: 0, fragmentMs: [0], pageKb: 10 });
const missLatency = async (coalesce: 'isolate' | 'global') => {
  const manifest = `route: /page\nfragments:\n  f0: { src: "/frag/0?k={query.k}", ttl: 1h, coalesce: ${coalesce} }\n`;
  const { route } = checkManifest(manifest, 'priced.yaml', 'priced');
  if (!route) throw new Error('bench manifest is invalid');
  const worker = await startWorker({ routes: assembleManifests([route]), bindings: { ORIGIN: priced.url } });
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const { port } = new URL(worker.url);
    const timings: number[] = [];
    for (let i = 0; i < 45; i++) {
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: `/page?k=${coalesce}-${i}`, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
      if (i >= 5) timings.push(performance.now() - started); // the first few warm the isolate and the Object
    }
    agent.destroy();
    return median(timings);
  } finally {
    await worker.dispose();
  }
};
try {
  const isolate = await missLatency('isolate');
  const global = await missLatency('global');
  console.log(
    `\ncost of coalesce: global per miss: ${(global - isolate).toFixed(2)} ms (page with one cold fragment: ${isolate.toFixed(2)} ms per isolate, ${global.toFixed(2)} ms through the Durable Object; median of 40)`,
  );
} finally {
  await priced.close();
}
