/**
 * The compiled manifests the Worker runs with. `wrangler.toml` aliases it to
 * gateway/generated/routes.json (written by `tessera build`); the Node-side
 * host (cli/workerd-host.ts) supplies it directly for dev, bench and tests.
 */
declare module 'tessera:routes' {
  const manifests: unknown;
  export default manifests;
}
