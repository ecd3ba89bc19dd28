import { createGateway, type GatewayEnv } from './gateway';
import manifests from './generated/routes.json';
import type { CompiledManifests } from './types';

// Compiled from manifests/*.yaml by `tessera build` (wrangler runs it before bundling).
// JSON imports type as their literal shape; `tessera build` validated it against CompiledManifests.
const handle = createGateway({ manifests: manifests as unknown as CompiledManifests });

export default {
  fetch: (request, env, ctx) => handle(request, env, ctx),
} satisfies ExportedHandler<GatewayEnv>;
