/**
 * Where an assembled page's CPU goes: samples the gateway's isolate with the
 * V8 profiler while it serves PAGES pages (100 KB, 10 fragments, no latency)
 * at concurrency 8, then prints the functions with the most self time.
 * `npm run bench:profile`; `PAGE=/everything-cached` for a page cache hit
 * answered from its kept assembled output, `PAGE=/per-visitor-cached` for
 * one assembled from its compiled form and 10 fragment hits on every view,
 * `PAGE=/page-cached COLD=1` for a miss on every view; `CALLERS=match` lists
 * who calls a function. Bounded; 127.0.0.1 only.
 */
import { Agent, request } from 'node:http';
import { startBenchOrigin } from './bench-origin';
import { inspect } from './inspector';
import { serveWorker } from './workerd-serve';

const PAGES = Number(process.env.PAGES ?? 1000);
const INSPECTOR_PORT = Number(process.env.INSPECTOR_PORT ?? 9331);
const PAGE = process.env.PAGE ?? '/page';
/** `COLD=1`: every view gets a query of its own, so a route with `page:` (PAGE=/page-cached) misses every time. */
const COLD = process.env.COLD === '1';
let views = 0;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const origin = await startBenchOrigin({ originMs: 0, fragmentMs: Array(Number(process.env.FRAGMENTS ?? 10)).fill(0), pageKb: 100 });
const gateway = await serveWorker({ routes: origin.manifests, bindings: { ORIGIN: origin.url }, inspectorPort: INSPECTOR_PORT });
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
const load = async (pages: number) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < pages) {
        await new Promise<void>((resolve, reject) =>
          request(`${gateway.url}${PAGE}${COLD ? `?n=${++views}` : ''}`, { agent }, (res) => res.resume().on('end', resolve).on('error', reject))
            .on('error', reject)
            .end(),
        );
      }
    }),
  );
};
try {
  await load(200);
  const session = await inspect(INSPECTOR_PORT);
  await session.call('Profiler.enable');
  await session.call('Profiler.setSamplingInterval', { interval: 100 });
  const cpu0 = gateway.cpuMs();
  await session.call('Profiler.start');
  await load(PAGES);
  const { profile } = (await session.call('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number } };
  const processMs = gateway.cpuMs() - cpu0;
  session.close();
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nameOf = (id: number) => {
    const { functionName, url, lineNumber } = byNode.get(id)?.callFrame ?? { functionName: '?', url: '', lineNumber: 0 };
    return `${functionName || '(anonymous)'} ${url ? `${url.split('/').pop()}:${lineNumber + 1}` : ''}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const sample of profile.samples) {
    self.set(nameOf(sample), (self.get(nameOf(sample)) ?? 0) + 1);
    const stack = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) stack.add(nameOf(id));
    for (const name of stack) inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const perPage = (share: number) => ((share / total) * ((profile.endTime - profile.startTime) / 1000 / PAGES)).toFixed(3);
  console.log(`${PAGES} pages; process CPU ${(processMs / PAGES).toFixed(2)} ms/page; isolate samples ${total}\n`);
  console.log('self ms/page (wall share)  function');
  const top = (counts: Map<string, number>) => {
    for (const [name, hits] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.ROWS ?? 30)))
      console.log(`${perPage(hits).padStart(8)}  ${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  };
  top(self);
  console.log('\ninclusive ms/page (wall share)  function, with what it calls');
  top(inclusive);
  // CALLERS=name: who calls a function, by the samples in it (a native function's callers, say).
  const wanted = process.env.CALLERS;
  if (wanted) {
    const callers = new Map<string, number>();
    for (const sample of profile.samples) {
      if (!nameOf(sample).startsWith(`${wanted} `)) continue;
      const chain: string[] = [];
      for (let id = parent.get(sample); id !== undefined && chain.length < 3; id = parent.get(id)) chain.push(nameOf(id));
      const key = chain.join(' < ');
      callers.set(key, (callers.get(key) ?? 0) + 1);
    }
    console.log(`\ncallers of ${wanted} (ms/page)`);
    for (const [chain, hits] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${perPage(hits).padStart(8)}  ${chain}`);
  }
} finally {
  agent.destroy();
  await gateway.close();
  await origin.close();
}
