import { build } from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { PROJECT, readProjectConfig } from '../cli/project-config';

/**
 * Runs a Worker in bare workerd (Miniflare, no wrangler dev proxy layers) so
 * benchmarks compare the gateway with a one-line pass-through Worker on the
 * same runtime, with the project's compatibility settings.
 */
export async function startWorker(source: string, bindings: Record<string, string>): Promise<{ url: string; dispose(): Promise<void> }> {
  const bundle = await build({
    stdin: { contents: source, resolveDir: PROJECT, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker'],
    write: false,
  });
  const config = readProjectConfig();
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0].text,
    compatibilityDate: config.compatibility_date,
    compatibilityFlags: config.compatibility_flags,
    bindings,
    host: '127.0.0.1',
    port: 0,
    log: new Log(LogLevel.WARN),
    // No network here to fetch the real request.cf object from; the bench needs none.
    cf: false,
  });
  const url = await mf.ready;
  return { url: url.origin, dispose: () => mf.dispose() };
}

export const PASS_THROUGH_WORKER = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(env.ORIGIN + url.pathname + url.search, request));
  },
};`;

export function gatewayWorker(manifests: unknown): string {
  return `import { createGateway } from './gateway/gateway.ts';
const handle = createGateway({ manifests: ${JSON.stringify(manifests)} });
export default { fetch: (request, env, ctx) => handle(request, env, ctx) };`;
}
