import path from 'node:path';
import { parseArgs } from 'node:util';
import { GENERATED_ROUTES, writeCompiled, writeRegexEngine } from '../build';
import { deployRefusal, deployTarget, isDeploy, wranglerArguments } from '../deploy-origin';
import { formatDiagnostic } from '../diagnostics';
import { displayPath } from '../display-path';
import { loadManifests } from '../load-manifests';
import { type Command, count, missingPath } from './command';

export const buildCommand: Command = {
  name: 'build',
  summary: 'Compile manifests into the module the Worker imports',
  usage: `Usage: tessera build [--manifests DIR] [--out FILE] [--deploy --origin URL]

Validates the manifests and compiles them into the module the Worker imports,
and (without --out) writes the module the Worker loads ESI's regular
expression engine from, gateway/generated/re2js.js. Wrangler runs this before
every bundle. Under \`wrangler deploy\` (or with
--deploy) it also refuses to build when ORIGIN is missing or on this machine;
TESSERA_ALLOW_LOOPBACK_ORIGIN=1 says you mean it.

  --manifests DIR   manifests directory (default: $TESSERA_MANIFESTS or manifests)
  --out FILE        output (default: gateway/generated/routes.json)
  --deploy          check ORIGIN as for a deploy
  --origin URL      the ORIGIN to check (default: wrangler's --var ORIGIN:…, else [vars])
`,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { manifests: { type: 'string' }, out: { type: 'string' }, deploy: { type: 'boolean' }, origin: { type: 'string' } },
    });
    const wrangler = wranglerArguments();
    if (values.deploy || (wrangler && isDeploy(wrangler))) {
      const refusal = deployRefusal(deployTarget(wrangler ?? [], values.origin));
      if (refusal) {
        io.err.write(`tessera build: ${refusal}\n`);
        return 1;
      }
    }
    const dir = path.resolve(io.cwd, values.manifests ?? process.env.TESSERA_MANIFESTS ?? 'manifests');
    const out = values.out ? path.resolve(io.cwd, values.out) : GENERATED_ROUTES;
    const missing = await missingPath(dir, io.cwd);
    if (missing) {
      io.err.write(`tessera build: ${missing}\n`);
      return 1;
    }
    const result = await loadManifests(dir, io.cwd);
    if (!result.manifests) {
      for (const d of result.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
      io.err.write('tessera build: not written; fix the problems above\n');
      return 1;
    }
    await writeCompiled(result.manifests, out);
    if (!values.out) await writeRegexEngine();
    io.out.write(`tessera build: ${count(result.manifests.routes.length, 'route')} → ${displayPath(out, io.cwd)}\n`);
    return 0;
  },
};
