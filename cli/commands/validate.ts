import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatDiagnostic } from '../diagnostics';
import { displayPath } from '../display-path';
import { loadManifests } from '../load-manifests';
import { type Command, count, missingPath } from './command';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check manifests; exits 1 and lists every problem as file:line:column',
  usage: `Usage: tessera validate [DIR or FILE]

Checks every manifest in DIR (default: manifests), or one FILE, and prints every problem of
every file at once, as file:line:column: field: what is wrong. Exits 1 when
there is any.
`,
  async run(argv, io) {
    const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
    const dir = path.resolve(io.cwd, positionals[0] ?? 'manifests');
    const missing = await missingPath(dir, io.cwd);
    if (missing) {
      io.err.write(`tessera validate: ${missing}\n`);
      return 1;
    }
    const result = await loadManifests(dir, io.cwd);
    if (result.diagnostics.length) {
      for (const d of result.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
      io.err.write(`\n${count(result.diagnostics.length, 'problem')} in ${displayPath(dir, io.cwd)}\n`);
      return 1;
    }
    const routes = result.manifests?.routes ?? [];
    const described = routes.map((r) => `${r.name} (${r.patterns.join(', ')}, ${count(Object.keys(r.fragments).length, 'fragment')})`);
    io.out.write(`${count(result.files.length, 'manifest')} OK: ${described.join('; ')}\n`);
    return 0;
  },
};
