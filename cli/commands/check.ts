import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkPages, examplePaths } from '../check/check-pages';
import { formatDiagnostic } from '../diagnostics';
import { httpUrlProblem } from '../http-url';
import { loadManifests } from '../load-manifests';
import { type Command, count, missingPath } from './command';

export const checkCommand: Command = {
  name: 'check',
  summary: 'Fetch origin pages and lint their markup against the manifests',
  usage: `Usage: tessera check --origin URL [--manifests DIR] [PATH...]

Fetches each PATH from the origin (default: every route of the manifests, with
1 for each :param) and reports, as URL:line:column: what is wrong, what to do:
declared fragments the page has no marker for, data-slots naming no fragment,
ESI the route will not process, includes to hosts that are not listed,
includes inside esi:remove, self-closing includes without the compatibility
flag, and markers inside scripts, templates, attributes or comments.
Exits 1 when there is any.

  --origin URL      the origin to fetch pages from (required)
  --manifests DIR   manifests directory (default: manifests)
`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { origin: { type: 'string' }, manifests: { type: 'string' } } });
    if (!values.origin) {
      io.err.write('tessera check: --origin URL is required (the origin whose pages to check)\n');
      return 1;
    }
    const badOrigin = httpUrlProblem('--origin', values.origin);
    if (badOrigin) {
      io.err.write(`tessera check: ${badOrigin}\n`);
      return 1;
    }
    const origin = new URL(values.origin);
    const dir = path.resolve(io.cwd, values.manifests ?? 'manifests');
    const missing = await missingPath(dir, io.cwd);
    if (missing) {
      io.err.write(`tessera check: ${missing}\n`);
      return 1;
    }
    const loaded = await loadManifests(dir, io.cwd);
    if (!loaded.manifests) {
      for (const d of loaded.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
      return 1;
    }
    const paths = positionals.length ? positionals : examplePaths(loaded.manifests);
    const problems = await checkPages(origin, loaded.manifests, paths, (line) => io.err.write(`${line}\n`));
    if (problems) {
      io.err.write(`\n${count(problems, 'problem')} in ${count(paths.length, 'page')}\n`);
      return 1;
    }
    io.out.write(`tessera check: ${count(paths.length, 'page')}, no problems\n`);
    return 0;
  },
};
