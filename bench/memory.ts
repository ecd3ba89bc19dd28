/**
 * Memory of the gateway under sustained load, against the pass-through Worker
 * on the same workerd. Each Worker runs in its own workerd process; its
 * resident memory (RSS) is read before, right after the load, and after IDLE_S
 * seconds idle, together with the isolate's JS heap from the V8 inspector.
 * The JS heap is what Tessera's code holds; the rest of RSS is the runtime's
 * native memory (connections, streams, HTMLRewriter), which grows with the
 * subrequests in flight and is not handed back to the OS when idle.
 * Bounded: REQUESTS requests at CONCURRENCY, 127.0.0.1 only.
 */
import { Agent, request } from 'node:http';
import { residentMiB } from '../cli/workerd-host';
import type { CompiledManifests } from '../gateway/contract/types';
import { PASS_THROUGH_ENTRY, startBenchOrigin } from './bench-origin';
import { jsHeap } from './v8-heap';
import { serveWorker } from './workerd-serve';

const REQUESTS = Number(process.env.REQUESTS ?? 4000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const IDLE_S = Number(process.env.IDLE_S ?? 10);
const PAGE_KB = Number(process.env.PAGE_KB ?? 100);

const origin = await startBenchOrigin({ originMs: 5, fragmentMs: [5, 10, 15, 20, 25, 30], pageKb: PAGE_KB });

async function load(worker: { url: string }): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const { port } = new URL(worker.url);
  let next = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        bytes += await new Promise<number>((resolve) => {
          request({ host: '127.0.0.1', port, path: '/page', agent }, (res) => {
            let n = 0;
            res.on('data', (c: Buffer) => (n += c.length));
            res.on('end', () => resolve(n));
            res.on('error', () => resolve(n));
          })
            .on('error', () => resolve(0))
            .end();
        });
      }
    }),
  );
  agent.destroy();
  return bytes;
}

async function measure(name: string, worker: { entry?: string; routes?: CompiledManifests }, inspectorPort: number) {
  const running = await serveWorker({ ...worker, bindings: { ORIGIN: origin.url }, inspectorPort });
  try {
    await load(running); // warm-up pass, so both start from a used isolate
    const before = residentMiB(running.pid);
    const started = performance.now();
    const bytes = await load(running);
    const seconds = (performance.now() - started) / 1000;
    const loaded = residentMiB(running.pid);
    const heap = await jsHeap(inspectorPort);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idle = residentMiB(running.pid);
    return { name, before, loaded, idle, heap: heap.totalMiB, rps: REQUESTS / seconds, kbPerPage: bytes / REQUESTS / 1024 };
  } finally {
    await running.close();
  }
}

try {
  const rows = [
    await measure('pass-through Worker', { entry: PASS_THROUGH_ENTRY }, 9301),
    await measure('Tessera gateway', { routes: origin.manifests }, 9302),
  ];
  const f = (n: number | undefined) => (n === undefined ? '   n/a' : n.toFixed(0).padStart(6));
  console.log(`${REQUESTS} requests at concurrency ${CONCURRENCY}, page ${PAGE_KB} KB with 6 fragments; workerd RSS in MiB\n`);
  console.log(`worker                RSS before  loaded  idle ${IDLE_S}s   JS heap   req/s`);
  for (const r of rows) console.log(`${r.name.padEnd(21)} ${f(r.before)}     ${f(r.loaded)}  ${f(r.idle)}     ${f(r.heap)}  ${r.rps.toFixed(0).padStart(6)}`);
  const [base, gateway] = rows;
  if (base.idle !== undefined && gateway.idle !== undefined) {
    console.log(
      `\ngateway − pass-through after load: ${(gateway.loaded! - base.loaded!).toFixed(0)} MiB; after idle: ${(gateway.idle - base.idle).toFixed(0)} MiB`,
    );
  }
} finally {
  await origin.close();
}
