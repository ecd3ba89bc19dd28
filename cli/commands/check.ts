import path from 'node:path';
import { parseArgs } from 'node:util';
import { processesEsi } from '../../gateway/http/headers';
import { createRouter } from '../../gateway/routing/route-match';
import type { CompiledManifests } from '../../gateway/types';
import { lineColumn, lintPage } from '../check/lint-page';
import { formatDiagnostic } from '../diagnostics';
import { loadManifests } from '../load-manifests';
import { readProjectConfig } from '../project-config';
import { type Command, count } from './command';

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
    const origin = new URL(values.origin);
    const loaded = await loadManifests(path.resolve(io.cwd, values.manifests ?? 'manifests'), io.cwd);
    if (!loaded.manifests) {
      for (const d of loaded.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
      return 1;
    }
    const manifests = loaded.manifests;
    const paths = positionals.length ? positionals : examplePaths(manifests);
    const match = createRouter(manifests);
    const voidIncludeFlag = readProjectConfig().compatibility_flags.includes('html_rewriter_treats_esi_include_as_void_tag');
    let problems = 0;
    for (const pagePath of paths) {
      const url = new URL(pagePath, origin);
      const matched = match(url);
      if (!matched) {
        io.err.write(`${url.href}: no manifest route matches this path: nothing is assembled here\n`);
        problems++;
        continue;
      }
      let response: Response;
      try {
        response = await fetch(url, { headers: { 'surrogate-capability': 'tessera="ESI/1.0"', accept: 'text/html' }, redirect: 'manual' });
      } catch (error) {
        io.err.write(`${url.href}: the origin could not be reached (${error instanceof Error ? error.message : error}): is --origin right?\n`);
        problems++;
        continue;
      }
      const html = await response.text();
      if (!response.ok) {
        io.err.write(`${url.href}: the origin answered ${response.status}: only 2xx HTML pages are assembled\n`);
        problems++;
        continue;
      }
      const { route } = matched;
      const allowedOrigins = new Set([route.origin ?? origin.origin, ...route.hosts]);
      const found = lintPage(html, { route, esiProcessed: processesEsi(route, response.headers), allowedOrigins, pageUrl: url.href, voidIncludeFlag });
      for (const problem of found) {
        const { line, column } = lineColumn(html, problem.at);
        io.err.write(`${url.href}:${line}:${column}: ${problem.message}\n`);
      }
      problems += found.length;
    }
    if (problems) {
      io.err.write(`\n${count(problems, 'problem')} in ${count(paths.length, 'page')}\n`);
      return 1;
    }
    io.out.write(`tessera check: ${count(paths.length, 'page')}, no problems\n`);
    return 0;
  },
};

/** Every route pattern as a path to fetch: 1 for each :param; patterns with wildcards are left out. */
function examplePaths(manifests: CompiledManifests): string[] {
  return manifests.routes
    .flatMap((route) => route.patterns)
    .filter((pattern) => !/[*(]/.test(pattern))
    .map((pattern) => pattern.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, '1'));
}
