import type { CompiledManifests } from './types';

/**
 * The compiled routes are a wire format between `tessera build` and the
 * Worker: a Worker must never guess at a shape it was not built for. Bump this
 * whenever CompiledManifests or CompiledRoute change in a way an older Worker
 * would misread.
 */
export const COMPILED_ROUTES_VERSION = 1;

/** The compiled routes, once their version is one this Worker reads; otherwise an error that says what to do. */
export function checkedRoutes(compiled: unknown): CompiledManifests {
  const version = (compiled as { version?: unknown } | null)?.version;
  if (version !== COMPILED_ROUTES_VERSION) {
    throw new Error(
      `tessera: the compiled routes have version ${JSON.stringify(version)}, and this Worker reads version ${COMPILED_ROUTES_VERSION}: ` +
        'run `tessera build` (or `npm run build`) with this version of Tessera, then deploy again',
    );
  }
  return compiled as CompiledManifests;
}
