/**
 * Memory under a soak (issue 17): does the gateway's memory level off?
 *
 * The gateway and the pass-through Worker each run in a bare `workerd serve`
 * process of their own, in front of the same bench origin, and are loaded AT
 * THE SAME TIME, each with half of CONCURRENCY, by the same request loop (the
 * same sequence of paths). Loading both at once rather than alternating
 * windows means every 30 s row of the two was taken under the same machine
 * conditions (this is a shared 2-core machine: other work comes and goes),
 * and neither process gets idle windows in which its memory would settle
 * differently from the other's. Total concurrency is what the report used.
 *
 * The page mix exercises the fragment cache with distinct keys over time:
 *   1/4  /page                       six uncached fragments (bench origin)
 *   2/4  /products/<id>              ids cycling over PRODUCTS: a bounded key set
 *   1/4  /products/<id>?q=<n>        n never repeats: unbounded keys
 * and one request in ABORT_EVERY is dropped by the client after the first body
 * chunk, as visitors do, while its fragments are still in flight.
 * /products/:id has a 1 h fragment keyed by the id, a 5 s one (refreshed in
 * the background: stale-while-revalidate), one keyed by the unbounded query
 * value, an uncached one per id and one per query value (the latency memory),
 * and one shared by all. variantsPerFragment is raised so that the L1 cache,
 * not the variant cap, is what bounds the stored keys.
 *
 * Every SAMPLE_S seconds, per Worker: requests done, RSS (kernel), and the JS
 * heap used (V8 inspector) before and after a full GC. workerd does not answer
 * HeapProfiler.collectGarbage (bench/v8-heap.ts), but a heap snapshot collects
 * garbage first, so one is taken (its chunks discarded) before the second
 * reading; SOAK_GC=0 skips it. At half time and at the end a snapshot of each
 * isolate is kept and summarised: the constructors whose instance count grew,
 * and the largest Maps and Sets with what holds them.
 *
 * Verdict: least-squares slope of post-GC heap and RSS over the second half,
 * in MiB/min with a 95% interval; a leak is a gateway heap slope whose interval
 * lies above 0 and above SOAK_MIN_SLOPE while the control's does not.
 *
 * Bounded: SOAK_MINUTES (default 15), at most SOAK_MAX_REQUESTS per Worker,
 * a 30 s timeout per request; 127.0.0.1 only; stops by itself.
 * `npm run bench:soak`, e.g. `SOAK_MINUTES=2 npm run bench:soak`.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { checkManifest } from '../cli/load-manifests';
import { residentMiB } from '../cli/workerd-host';
import { assembleManifests } from '../gateway/manifest/compile';
import { PASS_THROUGH_ENTRY, startBenchOrigin } from './bench-origin';
import { inspect } from './inspector';
import { jsHeap } from './v8-heap';
import { type ServedWorker, serveWorker } from './workerd-serve';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 15);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 30);
const MAX_REQUESTS = Number(process.env.SOAK_MAX_REQUESTS ?? 2_000_000);
const PRODUCTS = Number(process.env.PRODUCTS ?? 500);
const ABORT_EVERY = Number(process.env.ABORT_EVERY ?? 50);
const PAGE_KB = Number(process.env.PAGE_KB ?? 100);
const FORCE_GC = process.env.SOAK_GC !== '0';
const MIN_SLOPE = Number(process.env.SOAK_MIN_SLOPE ?? 0.05);
const IDLE_S = Number(process.env.IDLE_S ?? 10);
const REQUEST_TIMEOUT_MS = 30_000;

/** The n-th path of the loop; both Workers get the same sequence. */
function pathFor(n: number): string {
  const id = (n * 7) % PRODUCTS;
  switch (n % 4) {
    case 0:
      return '/page';
    case 3:
      return `/products/${id}?q=${n}`;
    default:
      return `/products/${id}`;
  }
}

const PRODUCT_ROUTE = `route: /products/:id
limits: { variantsPerFragment: 10000 }
fragments:
  f0: { src: /frag/0, ttl: 1h, timeout: 2s }
  f1: { src: '/frag/1?id={params.id}', ttl: 1h, timeout: 2s }
  f2: { src: '/frag/2?id={params.id}', ttl: 5s, staleWhileRevalidate: 1m, timeout: 2s }
  f3: { src: '/frag/3?q={query.q|none}', ttl: 1h, timeout: 2s }
  f4: { src: '/frag/4?id={params.id}', timeout: 2s }
  f5: { src: '/frag/5?q={query.q|none}', timeout: 2s }
`;

interface Counts {
  done: number;
  errors: number;
  aborted: number;
}

/** Runs `concurrency` loops of GETs against one Worker until `stop()` or MAX_REQUESTS. */
function startLoad(worker: ServedWorker, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const { port } = new URL(worker.url);
  const counts: Counts = { done: 0, errors: 0, aborted: 0 };
  let next = 0;
  let stopped = false;
  const get = (n: number) =>
    new Promise<void>((resolve) => {
      const abort = ABORT_EVERY > 0 && n % ABORT_EVERY === ABORT_EVERY - 1;
      const req = request({ host: '127.0.0.1', port, path: pathFor(n), agent, headers: { 'accept-encoding': 'identity' } }, (res) => {
        if (abort) {
          res.once('data', () => {
            counts.aborted++;
            req.destroy();
            resolve();
          });
        } else res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) counts.done++;
          else counts.errors++;
          resolve();
        });
        res.on('error', () => resolve());
        res.on('close', () => resolve());
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        if (!abort) counts.errors++;
        resolve();
      });
      req.end();
    });
  const running = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stopped && next < MAX_REQUESTS) await get(next++);
    }),
  );
  return {
    counts,
    stop: async () => {
      stopped = true;
      await running;
      agent.destroy();
    },
  };
}

interface Sample {
  elapsedMin: number;
  requests: number;
  rss?: number;
  heapBefore: number;
  heap: number;
}

/** RSS, and the JS heap used before and (with FORCE_GC) after a full collection. */
async function sample(worker: ServedWorker, inspectorPort: number, elapsedMin: number, requests: number): Promise<Sample> {
  const rss = residentMiB(worker.pid);
  const before = await jsHeap(inspectorPort);
  if (!FORCE_GC) return { elapsedMin, requests, rss, heapBefore: before.usedMiB, heap: before.usedMiB };
  // A heap snapshot starts with a full GC; inspect() ignores the chunk events, which is all that is wanted here.
  const session = await inspect(inspectorPort);
  try {
    await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    session.close();
  }
  const after = await jsHeap(inspectorPort);
  return { elapsedMin, requests, rss, heapBefore: before.usedMiB, heap: after.usedMiB };
}

// ---- heap snapshot summary (needs the chunk events, which inspect() does not hand out) ----

interface HeapSummary {
  /** `constructor` (objects, closures) or node type → count and self bytes. */
  byClass: Map<string, { count: number; bytes: number }>;
  /** Every Map and Set: its backing table's bytes and what holds it. */
  collections: Array<{ kind: string; bytes: number; heldBy: string }>;
  totalBytes: number;
  /** Per class: `holder.edge` → how many of its instances it holds. */
  retainers: Map<string, Map<string, number>>;
  /** Async functions suspended at an await (their generator objects), by function name. */
  suspended: Map<string, number>;
}

async function snapshotText(inspectorPort: number): Promise<string> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl, { maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const chunks: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params.chunk);
        else if (message.id === 1) message.error ? reject(new Error(message.error.message)) : resolve();
      });
      socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.takeHeapSnapshot', params: { reportProgress: false } }));
    });
  } finally {
    socket.close();
  }
  return chunks.join('');
}

async function heapSummary(inspectorPort: number): Promise<HeapSummary> {
  const snapshot = JSON.parse(await snapshotText(inspectorPort)) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  const { meta } = snapshot.snapshot;
  const { nodes, edges, strings } = snapshot;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
  const [ETYPE, ENAME, ETO] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const typeOf = (i: number) => nodeTypes[nodes[i + TYPE]];
  const nameOf = (i: number) => strings[nodes[i + NAME]];
  // Objects, closures and the runtime's native objects by name; strings, code and the like by type.
  const classOf = (i: number) => {
    const type = typeOf(i);
    if (type === 'closure') return `${nameOf(i) || '(anonymous)'}()`;
    if (type === 'native')
      return `${nameOf(i)
        .replace(/^workerd \/ /, '')
        .slice(0, 40)} (native)`;
    if (type === 'object') return nameOf(i).split(' ')[0].slice(0, 40);
    return `(${type})`;
  };
  const byClass = new Map<string, { count: number; bytes: number }>();
  const collectionAt = new Map<number, { kind: string; bytes: number; heldBy: string[] }>();
  let totalBytes = 0;
  for (let i = 0; i < nodes.length; i += NF) {
    const type = typeOf(i);
    const key = classOf(i);
    const entry = byClass.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + SIZE];
    byClass.set(key, entry);
    totalBytes += nodes[i + SIZE];
    if (type === 'object' && (nameOf(i) === 'Map' || nameOf(i) === 'Set')) collectionAt.set(i, { kind: nameOf(i), bytes: 0, heldBy: [] });
  }
  const edgeName = (e: number) => {
    const type = edgeTypes[edges[e + ETYPE]];
    return type === 'element' || type === 'hidden' ? `[${edges[e + ENAME]}]` : strings[edges[e + ENAME]];
  };
  const retainers = new Map<string, Map<string, number>>();
  const suspended = new Map<string, number>();
  for (let i = 0, e = 0; i < nodes.length; i += NF) {
    const from = collectionAt.get(i);
    for (let k = 0; k < nodes[i + EDGES]; k++, e += EF) {
      const to = edges[e + ETO];
      if (from && edgeName(e) === 'table') from.bytes += nodes[to + SIZE];
      if (nameOf(i) === 'Generator' && typeOf(i) === 'object' && edgeName(e) === 'function') {
        const fn = `${nameOf(to) || '(anonymous)'}()`;
        suspended.set(fn, (suspended.get(fn) ?? 0) + 1);
      }
      if (edgeTypes[edges[e + ETYPE]] !== 'weak') {
        const held = retainers.get(classOf(to)) ?? new Map<string, number>();
        const label = `${classOf(i)}.${edgeName(e)}`;
        held.set(label, (held.get(label) ?? 0) + 1);
        retainers.set(classOf(to), held);
      }
      const target = collectionAt.get(to);
      if (target && edgeTypes[edges[e + ETYPE]] !== 'weak' && target.heldBy.length < 3) {
        const holder = typeOf(i) === 'object' || typeOf(i) === 'closure' ? nameOf(i) : `(${typeOf(i)})`;
        target.heldBy.push(`${holder}.${edgeName(e)}`);
      }
    }
  }
  const collections = [...collectionAt.values()].map((c) => ({ kind: c.kind, bytes: c.bytes, heldBy: c.heldBy.join(', ') }));
  return { byClass, collections, totalBytes, retainers, suspended };
}

function printSummaryDiff(name: string, mid: HeapSummary, end: HeapSummary) {
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  console.log(`\n${name}: live heap in snapshots ${mib(mid.totalBytes)} MiB at half time → ${mib(end.totalBytes)} MiB at the end`);
  const grown = [...end.byClass]
    .map(([key, e]) => ({ key, count: e.count - (mid.byClass.get(key)?.count ?? 0), bytes: e.bytes - (mid.byClass.get(key)?.bytes ?? 0), now: e.count }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
  console.log('  most grown (by self bytes):  Δcount      ΔKiB     count now');
  for (const g of grown) {
    const held = [...(end.retainers.get(g.key) ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 2);
    console.log(
      `    ${g.key.slice(0, 30).padEnd(30)} ${String(g.count).padStart(7)} ${(g.bytes / 1024).toFixed(1).padStart(9)} ${String(g.now).padStart(9)}  held by ${held.map(([l, n]) => `${l} ×${n}`).join(', ')}`,
    );
  }
  const waiting = [...end.suspended].sort((a, b) => b[1] - a[1]).slice(0, 6);
  console.log(`  async functions suspended at an await: ${waiting.map(([fn, n]) => `${fn} ×${n}`).join(', ') || 'none'}`);
  console.log('  largest Maps/Sets at the end (backing table KiB, held by):');
  for (const c of [...end.collections].sort((a, b) => b.bytes - a.bytes).slice(0, 8))
    console.log(`    ${c.kind.padEnd(4)} ${(c.bytes / 1024).toFixed(1).padStart(8)}  ${c.heldBy || '?'}`);
}

// ---- statistics ----

/** Least-squares slope of y over x, with its 95% interval (t with n−2 degrees of freedom). */
function slope(points: Array<[number, number]>): { slope: number; low: number; high: number } | undefined {
  const n = points.length;
  if (n < 3) return undefined;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const b = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  const residual = points.reduce((s, [x, y]) => s + (y - my - b * (x - mx)) ** 2, 0);
  const se = Math.sqrt(residual / (n - 2) / sxx);
  const t = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.1, 2.09, 2.09][n - 3] ?? 2.0;
  return { slope: b, low: b - t * se, high: b + t * se };
}

// ---- the run ----

const origin = await startBenchOrigin({ originMs: 5, fragmentMs: [5, 10, 15, 20, 25, 30], pageKb: PAGE_KB });
const { route, diagnostics } = checkManifest(PRODUCT_ROUTE, 'soak-products.yaml', 'soak-products');
if (!route) throw new Error(diagnostics.map((d) => d.message).join('\n'));
const routes = assembleManifests([...origin.manifests.routes, route]);
const PORTS = { control: Number(process.env.INSPECTOR_PORT ?? 9341), gateway: Number(process.env.INSPECTOR_PORT ?? 9341) + 1 };
const workers: Array<{ name: string; port: number; served: ServedWorker; samples: Sample[]; load?: ReturnType<typeof startLoad> }> = [];
try {
  workers.push({
    name: 'pass-through',
    port: PORTS.control,
    served: await serveWorker({ entry: PASS_THROUGH_ENTRY, bindings: { ORIGIN: origin.url }, inspectorPort: PORTS.control }),
    samples: [],
  });
  workers.push({
    name: 'gateway',
    port: PORTS.gateway,
    served: await serveWorker({ routes, bindings: { ORIGIN: origin.url }, inspectorPort: PORTS.gateway }),
    samples: [],
  });
  const half = Math.max(1, Math.floor(CONCURRENCY / 2));
  console.log(
    `soak: ${MINUTES} min, both Workers loaded at once at concurrency ${half} each (${CONCURRENCY} in all), page ${PAGE_KB} KB with 6 fragments;` +
      `\n  mix: /page, /products/<0..${PRODUCTS - 1}>, and ?q=<never repeated> on 1 in 4; 1 in ${ABORT_EVERY} dropped by the client mid-page;` +
      `\n  heap = JS heap used ${FORCE_GC ? 'after a full GC (heap snapshot)' : 'as read (no GC forced)'}, "pre-GC" as read; MiB\n`,
  );
  console.log('elapsed  worker        requests  req/s   errors  aborted   RSS   heap pre-GC   heap');
  const print = (elapsedMin: number, w: (typeof workers)[number], s: Sample, rps: number) => {
    const c = w.load?.counts ?? { errors: 0, aborted: 0 };
    console.log(
      `${elapsedMin.toFixed(1).padStart(5)}m  ${w.name.padEnd(12)} ${String(s.requests).padStart(9)} ${rps.toFixed(0).padStart(6)} ${String(c.errors).padStart(8)} ${String(c.aborted).padStart(8)} ${(s.rss ?? Number.NaN).toFixed(0).padStart(6)} ${s.heapBefore.toFixed(1).padStart(12)} ${s.heap.toFixed(1).padStart(6)}`,
    );
  };
  const takeRow = async (elapsedMin: number) => {
    const rows = await Promise.all(workers.map((w) => sample(w.served, w.port, elapsedMin, w.load?.counts.done ?? 0)));
    rows.forEach((s, i) => {
      const w = workers[i];
      const previous = w.samples.at(-1);
      const rps = previous ? (s.requests - previous.requests) / ((s.elapsedMin - previous.elapsedMin) * 60) : 0;
      w.samples.push(s);
      print(elapsedMin, w, s, rps);
    });
  };
  await takeRow(0);
  const started = performance.now();
  for (const w of workers) w.load = startLoad(w.served, half);
  const elapsedMin = () => (performance.now() - started) / 60_000;
  const steps = Math.max(1, Math.round((MINUTES * 60) / SAMPLE_S));
  const halfStep = Math.ceil(steps / 2);
  const summaries = new Map<string, HeapSummary[]>();
  for (let step = 1; step <= steps; step++) {
    const due = started + step * SAMPLE_S * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    if (workers.every((w) => (w.load?.counts.done ?? 0) + (w.load?.counts.errors ?? 0) >= MAX_REQUESTS)) break;
    await takeRow(elapsedMin());
    if (step === halfStep || step === steps) {
      for (const w of workers) summaries.set(w.name, [...(summaries.get(w.name) ?? []), await heapSummary(w.port)]);
    }
  }
  await Promise.all(workers.map((w) => w.load?.stop()));
  console.log(`\nload stopped; after ${IDLE_S} s idle:`);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const idle = await Promise.all(workers.map((w) => sample(w.served, w.port, elapsedMin(), w.load?.counts.done ?? 0)));
  for (const [i, s] of idle.entries()) print(s.elapsedMin, workers[i], s, 0);
  // What is still held with nothing in flight is what the isolate keeps.
  for (const w of workers) summaries.set(w.name, [...(summaries.get(w.name) ?? []), await heapSummary(w.port)]);

  // ---- verdict ----
  const totalMin = workers[0].samples.at(-1)?.elapsedMin ?? MINUTES;
  console.log(`\nSecond half (${(totalMin / 2).toFixed(1)}–${totalMin.toFixed(1)} min), slope in MiB/min [95% interval]:`);
  const fmt = (s: ReturnType<typeof slope>) =>
    s ? `${s.slope >= 0 ? '+' : ''}${s.slope.toFixed(3)} [${s.low.toFixed(3)}, ${s.high.toFixed(3)}]` : 'too few samples';
  const verdicts = new Map<string, { heap?: ReturnType<typeof slope>; rss?: ReturnType<typeof slope> }>();
  for (const w of workers) {
    const late = w.samples.filter((s) => s.elapsedMin >= totalMin / 2 - 1e-9 && s.elapsedMin > 0);
    const heap = slope(late.map((s) => [s.elapsedMin, s.heap]));
    const rss = slope(late.filter((s) => s.rss !== undefined).map((s) => [s.elapsedMin, s.rss as number]));
    verdicts.set(w.name, { heap, rss });
    console.log(`  ${w.name.padEnd(12)}  JS heap ${fmt(heap).padEnd(28)}  RSS ${fmt(rss)}`);
  }
  const grows = (s: ReturnType<typeof slope>) => !!s && s.low > 0 && s.slope > MIN_SLOPE;
  const gatewayHeap = verdicts.get('gateway')?.heap;
  const controlHeap = verdicts.get('pass-through')?.heap;
  if (!gatewayHeap) console.log('\nVerdict: too few samples in the second half to judge (run longer).');
  else if (grows(gatewayHeap) && !grows(controlHeap))
    console.log(`\nVerdict: LEAK — the gateway's JS heap keeps growing in the second half (${fmt(gatewayHeap)} MiB/min) while the control's does not.`);
  else if (grows(gatewayHeap)) console.log(`\nVerdict: inconclusive — both JS heaps grow in the second half; the runtime, not Tessera, may be holding memory.`);
  else
    console.log(
      `\nVerdict: no JS heap leak — the gateway's heap levels off (second-half slope ${fmt(gatewayHeap)} MiB/min; threshold ${MIN_SLOPE} MiB/min, interval above 0).`,
    );
  for (const w of workers) {
    const [mid, end, idleSummary] = summaries.get(w.name) ?? [];
    if (mid && end && idleSummary) {
      printSummaryDiff(`${w.name}, half time → end of load`, mid, end);
      // Anything above the half-time reading with nothing in flight is held, not in use.
      printSummaryDiff(`${w.name}, half time (under load) → ${IDLE_S} s idle`, mid, idleSummary);
    }
  }
} finally {
  for (const w of workers) await w.load?.stop();
  for (const w of workers) await w.served.close();
  await origin.close();
}
