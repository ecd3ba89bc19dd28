/**
 * What a compiled page costs in L1, and whether L1 keeps to its byte bound
 * with compiled pages in it (`npm run bench:memory`, after bench/memory.ts).
 *
 * One Tessera process on bare workerd serves `/everything-cached` (the bench
 * origin's 100 KB data-slot page with `page: { ttl: 10m }`, its 10 fragments
 * cached). Each distinct query is a page key of its own, so each new query
 * stores one more page (viewed twice: the miss stores its bytes, the first
 * hit compiles them and, the page being the same for everyone, keeps its
 * assembled output too: both are in L1). The isolate's memory is read through the V8 inspector
 * after a heap snapshot, which V8 takes after a full garbage collection
 * (workerd does not answer HeapProfiler.collectGarbage): the JS heap in use
 * plus the ArrayBuffer backing stores, where a page's bytes live. Measured after a warm-up, after FILL more pages, after
 * PENDING more pages viewed once (a miss keeps its bytes as read, joined and
 * compiled at the next view), and after FLOOD pages in all, far more than the
 * default 16 MiB bound holds.
 * Bounded in count; 127.0.0.1 only.
 */
import { Agent, request } from 'node:http';
import { startBenchOrigin } from './bench-origin';
import { inspect } from './inspector';
import { serveWorker } from './workerd-serve';

const WARM = 5;
const FILL = Number(process.env.FILL ?? 50);
const PENDING = Number(process.env.PENDING ?? 20);
const FLOOD = Number(process.env.FLOOD ?? 400);
const FRAGMENTS = 10;
const INSPECTOR_PORT = Number(process.env.INSPECTOR_PORT ?? 9303);
const ROUTE = '/everything-cached';
const MiB = 2 ** 20;

// The L1 bound and L1's own size accounting, from the gateway's modules. Imported by a computed path, so that the
// Node type check does not follow them into code written against the Workers types (HTMLRewriter, KVNamespace).
const gatewayModule = (path: string) => import(new URL(path, import.meta.url).href);
const { DEFAULT_MEMORY_BYTES } = (await gatewayModule('../gateway/fragments/cache/fragment-cache.ts')) as { DEFAULT_MEMORY_BYTES: number };
const { sizeInMemory } = (await gatewayModule('../gateway/page-cache/cached-page.ts')) as { sizeInMemory: (page: unknown) => number };
const { assembledSize } = (await gatewayModule('../gateway/page-cache/assembled-pages.ts')) as { assembledSize: (page: unknown) => number };

const origin = await startBenchOrigin({ originMs: 0, fragmentMs: Array(FRAGMENTS).fill(0), pageKb: 100 });
const gateway = await serveWorker({ routes: origin.manifests, bindings: { ORIGIN: origin.url }, inspectorPort: INSPECTOR_PORT });
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One view: its Server-Timing's origin state (`hit`, `miss`, …) and whether every fragment is in it. */
function view(path: string): Promise<{ state: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    request(`${gateway.url}${path}`, { agent, headers: { 'accept-encoding': 'identity' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        const state = /desc="(\w+)"/.exec(String(response.headers['server-timing'] ?? '').split(',')[0])?.[1] ?? 'none';
        const complete = Array.from({ length: FRAGMENTS }, (_, i) => `<span>fragment ${i}</span>`).every((f) => body.includes(f));
        resolve({ state, complete });
      });
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/**
 * Page keys never asked for before, one at a time, until `total` keys have
 * been asked for, each viewed twice: a miss stores the page's bytes (in the
 * background, once the view has streamed), and the first hit compiles them
 * and stores the compiled page in their place. Each view must be a complete
 * page, and the second a hit.
 */
let keys = 0;
async function fillTo(total: number, views: readonly string[] = ['miss', 'hit']): Promise<void> {
  while (keys < total) {
    const path = `${ROUTE}?key=${++keys}`;
    for (const expected of views) {
      const { state, complete } = await view(path);
      if (!complete) throw new Error(`${path} left out a fragment`);
      if (state !== expected) throw new Error(`${path}: Server-Timing says ${state}, expected ${expected}`);
    }
  }
  await new Promise((r) => setTimeout(r, 300));
}

/** The isolate's JS heap in use plus its ArrayBuffer backing stores, right after a full GC. */
async function isolateBytes(): Promise<number> {
  const session = await inspect(INSPECTOR_PORT);
  try {
    await session.call('HeapProfiler.enable');
    // V8 collects garbage before it takes the snapshot; the snapshot's chunks are dropped.
    await session.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    const usage = (await session.call('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
    if (usage.backingStorageSize === undefined) throw new Error('this workerd does not report ArrayBuffer backing stores');
    return usage.usedSize + usage.backingStorageSize;
  } finally {
    session.close();
  }
}

try {
  await fillTo(WARM);
  const warm = await isolateBytes();
  await fillTo(WARM + FILL);
  const filled = await isolateBytes();
  await fillTo(WARM + FILL + PENDING, ['miss']);
  const pendingFilled = await isolateBytes();
  await fillTo(FLOOD);
  const flooded = await isolateBytes();
  const firstAgain = await view(`${ROUTE}?key=1`);

  const pageBytes = Buffer.byteLength(origin.page);
  const perPage = (filled - warm) / FILL;
  const perPending = (pendingFilled - filled) / PENDING;
  // What the pages take at the end: the isolate less what it holds with no page at all (each key's own bookkeeping, such as its memoised digest, included).
  const held = flooded - (warm - WARM * perPage);
  // L1's own accounting (cached-page.ts) of this page: its bytes, its headers as the origin sends them, its markers.
  const response = await fetch(`${origin.url}${ROUTE}`);
  await response.arrayBuffer();
  const compiled = sizeInMemory({
    status: 200,
    statusText: 'OK',
    headers: [...response.headers],
    markup: { kind: 'compiled', bytes: new Uint8Array(pageBytes), cut: { kind: 'markers', markers: Array(FRAGMENTS).fill({}) } },
  });
  // A page viewed once, as two 64 KiB reads kept (the usual split of this page; a third small read, when there is one, adds its size).
  const firstRead = new Uint8Array(new ArrayBuffer(64 * 1024));
  const pending = sizeInMemory({
    status: 200,
    statusText: 'OK',
    headers: [...response.headers],
    markup: { kind: 'pending', chunks: [firstRead, new Uint8Array(new ArrayBuffer(64 * 1024), 0, pageBytes - firstRead.byteLength)] },
  });
  // Its assembled copy: the page's bytes with the fragments in them (about as long), and about as many headers.
  const assembled = assembledSize({ body: new Uint8Array(pageBytes), headers: [...response.headers] });
  const accounted = compiled + assembled;
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

  console.log(`\ncompiled pages in L1: ${ROUTE}, a ${kb(pageBytes)} page with ${FRAGMENTS} markers, page: { ttl: 10m }, fragments cached`);
  console.log('isolate memory after a forced GC (heap snapshot): JS heap in use + ArrayBuffer backing stores\n');
  console.log(`  after ${WARM} pages (warm-up)          ${mib(warm).padStart(9)}`);
  console.log(`  after ${FILL} more distinct pages      ${mib(filled).padStart(9)}`);
  console.log(`  ${`after ${PENDING} more viewed once`.padEnd(34)}${mib(pendingFilled).padStart(9)}`);
  console.log(`  after ${FLOOD} distinct pages in all   ${mib(flooded).padStart(9)}`);
  console.log(
    `\none compiled ${kb(pageBytes)} page and its assembled copy: ${kb(perPage)} measured (${(perPage / pageBytes).toFixed(2)}× its bytes); ` +
      `L1 accounts them as ${kb(accounted)} (the compiled page ${kb(compiled)}, the assembled copy ${kb(assembled)})`,
  );
  console.log(
    `one ${kb(pageBytes)} page viewed once (kept as read, not yet compiled): ${kb(perPending)} measured; L1 accounts it as ${kb(pending)} (two 64 KiB reads) ` +
      `(accounting ÷ measured ${(pending / perPending).toFixed(3)})`,
  );
  console.log(
    `L1 bound: ${mib(DEFAULT_MEMORY_BYTES)} by default, shared by fragments and compiled pages (LRU by bytes): about ${Math.floor(DEFAULT_MEMORY_BYTES / accounted)} such pages; ` +
      `${FLOOD} of them unbounded would take ${mib(FLOOD * perPage)}`,
  );
  // L1 evicts by its own accounting: it keeps to the bound in memory when what it counts for an entry is at least what the entry takes.
  console.log(
    `L1 accounting ÷ measured, per page: ${(accounted / perPage).toFixed(3)} (goal ≥ 1, so that the bound holds in memory) ${accounted >= perPage ? 'met' : 'NOT met'}`,
  );
  console.log(
    `held for pages after ${FLOOD} (isolate less its size with none): ${mib(held)}, ${(held / DEFAULT_MEMORY_BYTES).toFixed(2)}× the L1 bound, ` +
      `with what is kept per key outside L1 (the page-key digest memo, at most 4096 page keys); the first page, viewed again: ${firstAgain.state}${firstAgain.state === 'miss' ? ' (evicted)' : ''}`,
  );
} finally {
  agent.destroy();
  await gateway.close();
  await origin.close();
}
