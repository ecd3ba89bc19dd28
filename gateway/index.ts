import manifests from 'tessera:routes';
import type { CompiledManifests } from './contract/types';
import { createGateway, type GatewayEnv } from './gateway';

// Durable Object classes must be exported by the Worker's entry.
export { FragmentCoalescer } from './fragments/cache/global-coalescer';

// Compiled and validated by `tessera build` (wrangler runs it before bundling).
const handle = createGateway({ manifests: manifests as CompiledManifests });

export default {
  async fetch(request, env, ctx) {
    const response = await handle(request, env, ctx);
    return env.TESSERA_DEV === 'true' ? uncompressedPreview(response) : response;
  },
} satisfies ExportedHandler<GatewayEnv>;

/**
 * Miniflare emulates the edge's compression with an encoder that does not
 * flush per chunk, which would hide streaming in the preview. "identity" makes
 * it leave the stream alone. Deployed, Cloudflare's edge compresses and streams.
 */
function uncompressedPreview(response: Response): Response {
  if (!response.body || response.headers.has('content-encoding') || !/html/.test(response.headers.get('content-type') ?? '')) return response;
  const streamed = new Response(response.body, response);
  streamed.headers.set('content-encoding', 'identity');
  return streamed;
}
