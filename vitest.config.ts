import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

/**
 * Two lines workerd prints on a green run, each expected:
 * - "disconnected: WebSocket peer disconnected", each time the Workers pool
 *   closes its connection to a test file's runner (once per file). The pool
 *   drops its other shutdown messages ("WebSocket was aborted", "operation
 *   canceled"), but not this one.
 * - the uncaught-exception report of a page failed by an `esiErrors: fail`
 *   include judged after the origin's body was all written: the one failure
 *   `PageLifetime.finish` still raises by throwing in the rewriter's end
 *   handler (see page-lifetime.ts). Tests provoke it on purpose; any other
 *   uncaught exception, a PageAborted of another kind included, still shows.
 * The pool passes workerd's lines on to this process's stdout; these two are
 * dropped here, matched whole.
 */
const EXPECTED = [
  /^exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected\n$/,
  /^uncaught exception; source = Uncaught; stack = PageAborted: esi:include src="[^"\n]*" failed \([^\n]*\), and this route has esiErrors: fail\n( {4}at [^\n]*\n)*$/,
];
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' && EXPECTED.some((line) => line.test(chunk)) ? true : write(chunk, ...rest)) as typeof stream.write;
}

/**
 * The slow tier: Chromium, the resilience load run and the dev server's
 * reload loop, most of the CPU of a full run. `npm test` leaves them out so
 * that it stays under two minutes on two cores; `.ci/run` runs them after it.
 */
const SLOW = ['test/e2e/**/*.browser.test.ts', 'test/e2e/resilience.e2e.test.ts', 'test/e2e/dev-loop.e2e.test.ts'];

export default defineConfig({
  test: {
    // The end-to-end files mostly wait (on sockets, timers, Chromium), so one more file runs at once than there are cores here (vitest would run one).
    maxWorkers: 3,
    projects: [
      {
        // The gateway itself, inside workerd with the project's compatibility settings.
        plugins: [
          cloudflareTest({ wrangler: { configPath: './wrangler.toml' }, miniflare: { kvNamespaces: ['TESSERA_VERSIONS', 'SEGMENTS', 'TESSERA_LAST_GOOD'] } }),
        ],
        // wrangler.toml's [alias], which Vite does not read.
        resolve: { alias: { 'tessera:routes': fileURLToPath(new URL('./gateway/generated/routes.json', import.meta.url)) } },
        test: { name: 'workerd', include: ['test/unit/**/*.test.ts'], setupFiles: ['./test/setup/expected-errors.ts'] },
      },
      {
        // Node-side tooling, and end-to-end runs of the real gateway against local origins.
        test: {
          name: 'node',
          include: ['test/cli/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/house/**/*.test.ts'],
          exclude: SLOW,
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        // The slow tier (npm run test:slow; npm run test:full runs all three projects; .ci/run runs npm test and then this).
        // One file at a time: dev-loop measures latency, and three Chromiums beside it on two cores push it past its bound.
        test: { name: 'slow', include: SLOW, environment: 'node', testTimeout: 90_000, hookTimeout: 90_000, maxWorkers: 1 },
      },
    ],
  },
});
