import type { CompiledManifests } from '../../gateway/contract/types';
import { processesEsi } from '../../gateway/http/headers';
import { createRouter } from '../../gateway/request/route-match';
import { readProjectConfig } from '../project-config';
import { checkFragmentAssets } from './check-assets';
import { lineColumn, lintPage } from './lint-page';

/**
 * Fetches each path from the origin and lints it against the route that
 * assembles it; every problem goes to `report` as `URL:line:column: …`.
 * Shared by `tessera check` and `tessera dev` (which checks every route once
 * when it starts). Returns the number of problems. `onPage` hears of each
 * page before it is fetched, for a progress line. With `fragmentAssets`,
 * each route's declared fragments are fetched and their assets checked
 * (check-assets.ts).
 */
export interface PageReport {
  url: string;
  /** 1:1 for a problem of the whole page (unreachable, not routed, not 2xx). */
  line: number;
  column: number;
  message: string;
}

export async function checkPages(
  origin: URL,
  manifests: CompiledManifests,
  paths: string[],
  report: (line: string, problem: PageReport) => void,
  onPage?: (pagePath: string, index: number) => void,
  /** Fetch each route's declared fragments too and check their assets (`tessera check`; not tessera dev's start, which asks only pages). */
  fragmentAssets = false,
): Promise<number> {
  const match = createRouter(manifests);
  const voidIncludeFlag = readProjectConfig().compatibility_flags.includes('html_rewriter_treats_esi_include_as_void_tag');
  let problems = 0;
  /** Routes whose fragments' assets were checked: once per route, not per page. */
  const assetsChecked = new Set<string>();
  for (const [index, pagePath] of paths.entries()) {
    onPage?.(pagePath, index);
    const url = new URL(pagePath, origin);
    const pageProblem = (message: string) => report(`${url.href}: ${message}`, { url: url.href, line: 1, column: 1, message });
    const matched = match(url);
    if (!matched) {
      pageProblem('no manifest route matches this path: nothing is assembled here');
      problems++;
      continue;
    }
    let response: Response;
    try {
      const get = () => fetch(url, { headers: { 'surrogate-capability': 'tessera="ESI/1.0"', accept: 'text/html' }, redirect: 'manual' });
      // Once more after a network error: a kept-alive connection the origin closed meanwhile fails the first try.
      response = await get().catch(get);
    } catch (error) {
      pageProblem(`the origin could not be reached (${error instanceof Error ? error.message : error}): is the origin URL right?`);
      problems++;
      continue;
    }
    const html = await response.text();
    if (!response.ok) {
      pageProblem(`the origin answered ${response.status}: only 2xx HTML pages are assembled`);
      problems++;
      continue;
    }
    const { route } = matched;
    const allowedOrigins = new Set([route.origin ?? origin.origin, ...route.hosts]);
    const found = lintPage(html, { route, esiProcessed: processesEsi(route, response.headers), allowedOrigins, pageUrl: url.href, voidIncludeFlag });
    for (const problem of found) {
      const { line, column } = lineColumn(html, problem.at);
      report(`${url.href}:${line}:${column}: ${problem.message}`, { url: url.href, line, column, message: problem.message });
    }
    problems += found.length;
    if (fragmentAssets && !assetsChecked.has(route.name)) {
      assetsChecked.add(route.name);
      for (const problem of await checkFragmentAssets(route, route.origin ?? origin.origin)) {
        report(`${problem.url}:${problem.line}:${problem.column}: ${problem.message}`, problem);
        problems++;
      }
    }
  }
  return problems;
}

/** Every route pattern as a path to fetch: 1 for each :param; patterns with wildcards are left out. */
export function examplePaths(manifests: CompiledManifests): string[] {
  return manifests.routes
    .flatMap((route) => route.patterns)
    .filter((pattern) => !/[*(]/.test(pattern))
    .map((pattern) => pattern.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, '1'));
}
