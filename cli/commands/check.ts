import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkPages, examplePaths } from '../check/check-pages';
import { FORMAT_OPTIONS, FORMAT_USAGE, formatDiagnostic, githubAnnotation, type JsonProblem, jsonProblem, outputFormat } from '../diagnostics';
import { httpUrlProblem } from '../http-url';
import { type CliIo, progressLine } from '../io';
import { loadManifests } from '../load-manifests';
import { type Command, count, missingPath } from './command';

export const checkCommand: Command = {
  name: 'check',
  summary: 'Fetch origin pages and lint their markup against the manifests',
  usage: `Usage: tessera check --origin URL [--manifests DIR] [--json | --format github] [PATH...]

Fetches each PATH from the origin (default: every route of the manifests, with
1 for each :param) and reports, as URL:line:column: what is wrong, what to do:
declared fragments the page has no marker for, data-slots naming no fragment,
ESI the route will not process, includes to hosts that are not listed,
includes inside esi:remove, self-closing includes without the compatibility
flag, and markers inside scripts, templates, attributes or comments.
Exits 1 when there is any.

  --origin URL      the origin to fetch pages from (required)
  --manifests DIR   manifests directory (default: manifests)
${FORMAT_USAGE}
`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { origin: { type: 'string' }, manifests: { type: 'string' }, ...FORMAT_OPTIONS },
    });
    const format = outputFormat(values);
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
    const progress = progressLine(io);
    progress.show('tessera check: reading the manifests…');
    const loaded = await loadManifests(dir, io.cwd);
    if (!loaded.manifests) {
      progress.clear();
      if (format === 'text') for (const d of loaded.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
      else write(io, format, loaded.diagnostics.map(jsonProblem), `the manifests have ${count(loaded.diagnostics.length, 'problem')}`, { pages: 0 });
      return 1;
    }
    const paths = positionals.length ? positionals : examplePaths(loaded.manifests);
    const found: JsonProblem[] = [];
    const problems = await checkPages(
      origin,
      loaded.manifests,
      paths,
      (line, problem) => {
        progress.clear();
        found.push({ ...problem, severity: 'error' });
        if (format === 'text') io.err.write(`${line}\n`);
      },
      (pagePath, index) =>
        progress.show(
          `tessera check: checking ${count(paths.length, paths.length === positionals.length ? 'page' : 'route')}… ${index + 1}/${paths.length} ${pagePath}`,
        ),
      true,
    );
    progress.clear();
    const summary = problems ? `${count(problems, 'problem')} in ${count(paths.length, 'page')}` : `${count(paths.length, 'page')}, no problems`;
    if (format !== 'text') write(io, format, found, summary, { pages: paths.length });
    else if (problems) io.err.write(`\n${summary}\n`);
    else io.out.write(`tessera check: ${summary}\n`);
    return problems ? 1 : 0;
  },
};

/** The problems as --json or --format github has them, on stdout. */
function write(io: CliIo, format: 'json' | 'github', problems: JsonProblem[], summary: string, extra: { pages: number }) {
  if (format === 'json') {
    io.out.write(`${JSON.stringify({ problems, summary: { errors: problems.length, ...extra, ok: problems.length === 0, text: summary } }, null, 2)}\n`);
    return;
  }
  for (const problem of problems) io.out.write(`${githubAnnotation(problem)}\n`);
  io.out.write(`tessera check: ${summary}\n`);
}
