/**
 * Page assembly benchmark (DESIGN §7), on loopback, in one run:
 *   - TTFB through the gateway vs straight to the origin (target: within 2 ms)
 *   - total time for a page with N parallel fragments vs max(origin, slowest
 *     fragment) (target: ≤ 1.10)
 *   - pass-through overhead for an unmatched path
 * The gateway is the real one, bundled and run in bare workerd next to a
 * one-line pass-through Worker (the baseline for runtime overhead); the origin
 * and its fragments are a Node server with injected latency. Bounded: ROUNDS
 * requests per case, sequential, 127.0.0.1 only.
 */
import { startWorker } from '../cli/workerd-host';
import { PASS_THROUGH_ENTRY, startBenchOrigin } from './bench-origin';

const ROUNDS = Number(process.env.ROUNDS ?? 30);
const ORIGIN_MS = 50;
const FRAGMENT_MS = [20, 40, 60, 80, 100, 120].slice(0, Number(process.env.FRAGMENTS ?? 6));
const SLOWEST = Math.max(ORIGIN_MS, ...FRAGMENT_MS);

const origin = await startBenchOrigin({ originMs: ORIGIN_MS, fragmentMs: FRAGMENT_MS, pageKb: 100 });
const originUrl = origin.url;
const page = origin.page;
const gateway = await startWorker({ routes: origin.manifests, bindings: { ORIGIN: originUrl } });
const passThrough = await startWorker({ entry: PASS_THROUGH_ENTRY, bindings: { ORIGIN: originUrl } });

async function measure(url: string) {
  const started = performance.now();
  const response = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  const reader = response.body!.getReader();
  let ttfb = 0;
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!ttfb) ttfb = performance.now() - started;
    bytes += value.byteLength;
  }
  return { ttfb, total: performance.now() - started, bytes };
}

async function series(url: string) {
  await measure(url); // warm-up: isolate start, connection pools
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await measure(url));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { ttfb: median(runs.map((r) => r.ttfb)), total: median(runs.map((r) => r.total)), bytes: runs[0].bytes };
}

try {
  const direct = await series(`${originUrl}/page`);
  const assembled = await series(`${gateway.url}/page`);
  const baseline = await series(`${passThrough.url}/page`);
  const proxied = await series(`${gateway.url}/other`);
  const check = await (await fetch(`${gateway.url}/page`)).text();
  if (!FRAGMENT_MS.every((_, i) => check.includes(`<span>fragment ${i}</span>`))) throw new Error('assembled page is missing fragments');

  const f = (n: number) => n.toFixed(1).padStart(7);
  console.log(
    `page ${Math.round(page.length / 1024)} KB, ${FRAGMENT_MS.length} fragments (${FRAGMENT_MS.join('/')} ms), origin ${ORIGIN_MS} ms; median of ${ROUNDS}\n`,
  );
  console.log('case                         ttfb ms  total ms');
  console.log(`origin direct               ${f(direct.ttfb)}  ${f(direct.total)}`);
  console.log(`through gateway (assembled) ${f(assembled.ttfb)}  ${f(assembled.total)}`);
  console.log(`pass-through Worker         ${f(baseline.ttfb)}  ${f(baseline.total)}`);
  console.log(`gateway, unmatched path     ${f(proxied.ttfb)}  ${f(proxied.total)}`);
  console.log('');
  console.log(`TTFB gateway - direct:        ${(assembled.ttfb - direct.ttfb).toFixed(2)} ms   (target ≤ 2 ms)`);
  console.log(`TTFB gateway - pass-through:  ${(assembled.ttfb - baseline.ttfb).toFixed(2)} ms   (the gateway's own share)`);
  console.log(
    `total / max(origin, slowest): ${(assembled.total / SLOWEST).toFixed(3)}     (target ≤ 1.10; sequential would be ${((ORIGIN_MS + FRAGMENT_MS.reduce((a, b) => a + b, 0)) / SLOWEST).toFixed(2)})`,
  );
  console.log(`unmatched path vs pass-through Worker: ${(proxied.total - baseline.total).toFixed(2)} ms per request`);
} finally {
  await gateway.dispose();
  await passThrough.dispose();
  await origin.close();
}
