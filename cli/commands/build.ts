import path from 'node:path';
import { parseArgs } from 'node:util';
import { GENERATED_ROUTES, writeCompiled } from '../build';
import { formatDiagnostic } from '../diagnostics';
import { displayPath } from '../display-path';
import { loadManifests } from '../load-manifests';
import { type Command, count } from './command';

export const buildCommand: Command = {
  name: 'build',
  summary: 'Compile manifests into the module the Worker imports',
  usage: `Usage: tessera build [--manifests DIR] [--out FILE]

Validates the manifests and compiles them into the module the Worker imports.
Wrangler runs this before every bundle.

  --manifests DIR   manifests directory (default: $TESSERA_MANIFESTS or manifests)
  --out FILE        output (default: gateway/generated/routes.json)
`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { manifests: { type: 'string' }, out: { type: 'string' } } });
    const dir = path.resolve(io.cwd, values.manifests ?? process.env.TESSERA_MANIFESTS ?? 'manifests');
    const out = values.out ? path.resolve(io.cwd, values.out) : GENERATED_ROUTES;
    const result = await loadManifests(dir, io.cwd);
    if (!result.manifests) {
      for (const d of result.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
      io.err.write('tessera build: not written; fix the problems above\n');
      return 1;
    }
    await writeCompiled(result.manifests, out);
    io.out.write(`tessera build: ${count(result.manifests.routes.length, 'route')} → ${displayPath(out, io.cwd)}\n`);
    return 0;
  },
};
