import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // The gateway itself, inside workerd with the project's compatibility settings.
        plugins: [
          cloudflareTest({ wrangler: { configPath: './wrangler.toml' }, miniflare: { kvNamespaces: ['TESSERA_VERSIONS', 'SEGMENTS', 'TESSERA_LAST_GOOD'] } }),
        ],
        // wrangler.toml's [alias], which Vite does not read.
        resolve: { alias: { 'tessera:routes': fileURLToPath(new URL('./gateway/generated/routes.json', import.meta.url)) } },
        test: { name: 'workerd', include: ['test/unit/**/*.test.ts'] },
      },
      {
        // Node-side tooling, and end-to-end runs of the real gateway against local origins.
        test: {
          name: 'node',
          include: ['test/cli/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/house/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
