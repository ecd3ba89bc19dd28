/** The bindings the workerd test project provides (vitest.config.ts), as `env` from cloudflare:test. */
declare namespace Cloudflare {
  interface Env {
    TESSERA_VERSIONS: KVNamespace;
    SEGMENTS: KVNamespace;
    TESSERA_LAST_GOOD: KVNamespace;
  }
}
