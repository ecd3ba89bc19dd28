import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import 'urlpattern-polyfill';
import { type Document, isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import type { CompiledManifests, CompiledRoute } from '../gateway/contract/types';
import { assembleManifests, compileRoute } from '../gateway/manifest/compile';
import { crossRouteExperimentProblems } from '../gateway/manifest/compile-experiments';
import { patternProblems } from '../gateway/manifest/route-patterns';
import { describeValue, FragmentManifestSchema, RouteManifestSchema, VariantManifestSchema } from '../gateway/manifest/schema';
import { closest, type Diagnostic, sortDiagnostics } from './diagnostics';
import { displayPath } from './display-path';

/**
 * Reads every `*.yaml`/`*.yml` in a directory, validates each against the
 * manifest schema and compiles the lot. All problems of all files are
 * collected, each pinned to its line and column: a user fixes them in one go.
 */
export interface LoadResult {
  manifests?: CompiledManifests;
  diagnostics: Diagnostic[];
  files: string[];
  /** Entries named like manifests that could not be read (a dangling symlink, a directory), skipped: one line each. */
  warnings: string[];
}

/**
 * A manifest's file name: `*.yaml` or `*.yml`, and not a dotfile. Editors leave
 * dotfiles beside the file being edited (Emacs' `.#x.yaml` lock, a dangling
 * symlink; Vim's `.x.yaml.swp`); they are never manifests.
 */
export function isManifestName(name: string): boolean {
  return !name.startsWith('.') && /\.ya?ml$/.test(name);
}

export async function loadManifests(target: string, cwd = process.cwd()): Promise<LoadResult> {
  let names: string[];
  let dir = target;
  const where = displayPath(target, cwd);
  try {
    // A single manifest file works as well as a directory of them.
    if ((await stat(target)).isFile()) {
      dir = path.dirname(target);
      names = [path.basename(target)];
    } else names = (await readdir(dir)).filter(isManifestName).sort();
  } catch {
    return { files: [], warnings: [], diagnostics: [{ file: where, line: 1, column: 1, field: '', message: 'cannot read the manifests directory' }] };
  }
  const warnings: string[] = [];
  const texts = new Map<string, string>();
  for (const name of names) {
    const file = path.join(dir, name);
    // Read one by one: an entry can vanish or be a dangling symlink between readdir and here.
    try {
      texts.set(file, await readFile(file, 'utf8'));
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
      warnings.push(`${displayPath(file, cwd)}: skipped, it cannot be read (${code})`);
    }
  }
  if (texts.size === 0) {
    return {
      files: [],
      warnings,
      diagnostics: [{ file: where, line: 1, column: 1, field: '', message: 'no manifests here: expected *.yaml files, one per route' }],
    };
  }
  const diagnostics: Diagnostic[] = [];
  const routes: CompiledRoute[] = [];
  const files = [...texts.keys()];
  const seenPatterns = new Map<string, string>();
  /** Where each compiled route's fields were written, for the checks across files. */
  const locators = new Map<CompiledRoute, (p: Path) => Diagnostic>();

  for (const [file, text] of texts) {
    const label = displayPath(file, cwd);
    // The compiled route names its file without the build machine's absolute path.
    const compiledFile = path.isAbsolute(label) ? `${path.basename(dir)}/${path.basename(file)}` : label;
    const {
      route,
      diagnostics: problems,
      locatePattern,
      locateField,
      patterns,
    } = checkManifest(text, label, path.basename(file).replace(/\.ya?ml$/, ''), compiledFile);
    diagnostics.push(...problems);
    // Duplicates are found from the patterns as written, even in a file with other problems.
    patterns.forEach((pattern, i) => {
      const other = seenPatterns.get(pattern);
      if (other) {
        diagnostics.push({ ...locatePattern(i), message: `pattern "${pattern}" is already routed by ${other}` });
      } else seenPatterns.set(pattern, label);
    });
    if (route) {
      routes.push(route);
      locators.set(route, locateField);
    }
  }
  // An experiment on several routes has one set of arms: a visitor's arm must not depend on the page.
  for (const { route, problem } of crossRouteExperimentProblems(routes)) {
    const where = locators.get(route)?.(problem.path);
    if (where) diagnostics.push({ ...where, message: problem.message });
  }
  if (diagnostics.length) return { files, warnings, diagnostics: sortDiagnostics(diagnostics) };
  return { files, warnings, diagnostics, manifests: assembleManifests(routes) };
}

type Path = (string | number)[];

/** Validates and compiles one manifest's text. */
export function checkManifest(text: string, file: string, name: string, compiledFile = file) {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const sourceLine = (line: number) => text.split(/\r?\n/)[line - 1];
  const at = (offset: number, field: string, message: string): Diagnostic => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col, field, message, source: sourceLine(line) };
  };
  const locate = (p: Path, key?: string) => {
    const { node, keyNode } = findNode(doc, key === undefined ? p : [...p, key], key !== undefined);
    const target = keyNode ?? node;
    return at(target?.range?.[0] ?? 0, fieldName(p), '');
  };
  /** A position inside a scalar value: the caret on a template's variable, past any opening quote. */
  const locateWithin = (p: Path, offset: number) => {
    const { node } = findNode(doc, p, false);
    if (!node || !isScalar(node) || !node.range) return locate(p);
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
    return at(node.range[0] + quoted + offset, fieldName(p), '');
  };
  /** Where the i-th route pattern was written: `routes[i]`, or the single `route:`. */
  const locatePattern = (i: number) => locate(isMap(doc.contents) && doc.contents.has('routes') ? ['routes', i] : ['route']);

  // The first YAML error only: after a broken indentation, the parser's further errors are its knock-on effects.
  const diagnostics: Diagnostic[] = doc.errors.slice(0, 1).map((e) => at(e.pos[0], '', `invalid YAML: ${e.message.split('\n')[0]}`));
  if (diagnostics.length) return { diagnostics, locatePattern, locateField: locate, patterns: [] as string[] };

  const data = doc.toJS() ?? {};
  const patterns = writtenPatterns(data);
  let parsed = RouteManifestSchema.safeParse(data);
  if (!parsed.success) {
    const issues = flattenIssues(parsed.error.issues);
    for (const issue of issues) diagnostics.push(...describeIssue(issue, locate));
    // Check what remains too, so template and host problems show up in the same run.
    parsed = RouteManifestSchema.safeParse(withoutInvalid(data, issues));
    if (!parsed.success) return { diagnostics, locatePattern, locateField: locate, patterns };
  }
  const { route, problems } = compileRoute(parsed.data, name, compiledFile);
  for (const problem of problems) {
    const p = problem.path.length ? problem.path : ['route'];
    const where = problem.offset ? locateWithin(p, problem.offset) : locate(p);
    diagnostics.push({ ...where, field: fieldName(p), message: problem.message });
  }
  if (route) for (const problem of patternProblems(route)) diagnostics.push({ ...locatePattern(problem.index), message: problem.message });
  return { route: diagnostics.length ? undefined : route, diagnostics, locatePattern, locateField: locate, patterns };
}

/** The route patterns a manifest names, read from the YAML as it is (the schema may have refused other parts). */
function writtenPatterns(data: unknown): string[] {
  if (!data || typeof data !== 'object') return [];
  const { route, routes } = data as { route?: unknown; routes?: unknown };
  const all = Array.isArray(routes) ? routes : route !== undefined ? [route] : [];
  return all.filter((p): p is string => typeof p === 'string');
}

type Issue = z.core.$ZodIssue;

/** A union error hides the useful part; when the input had the right shape, report that branch's issues. */
function flattenIssues(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union') return [issue];
    // The branch whose shape matched fails only below the top: report its issues.
    const branch = issue.errors.find((errors) => errors.every((e) => e.path.length > 0));
    if (!branch || branch.length === 0) return [issue];
    return flattenIssues(branch.map((e) => ({ ...e, path: [...issue.path, ...e.path] }) as Issue));
  });
}

function describeIssue(issue: Issue, locate: (p: Path, key?: string) => Diagnostic): Diagnostic[] {
  const p = issue.path as Path;
  if (issue.code === 'unrecognized_keys') {
    const known = knownFields(p);
    return issue.keys.map((key) => {
      const hint = closest(key, known);
      const where = locate(p, key);
      return {
        ...where,
        field: fieldName([...p, key]),
        message: `unknown field${hint ? `; did you mean "${hint}"?` : ''} (expected one of: ${known.join(', ')})`,
      };
    });
  }
  if (issue.code === 'invalid_key') {
    const key = String(p[p.length - 1]);
    const where = locate(p.slice(0, -1), key);
    const what =
      p[p.length - 2] === 'variants' ? 'an arm name of letters, digits, _ . and -' : 'a fragment id of letters, digits, - and _ starting with a letter';
    return [{ ...where, field: fieldName(p), message: `expected ${what}, got ${describeValue(key)}` }];
  }
  if (issue.message.startsWith('required:') && p.length > 0) {
    // A missing field has no node of its own: point at the mapping that lacks it.
    const owner = p.slice(0, -1);
    const where = owner.length ? locate(owner.slice(0, -1), String(owner[owner.length - 1])) : locate([]);
    return [{ ...where, field: fieldName(p), message: issue.message }];
  }
  return [{ ...locate(p), message: issue.message }];
}

/** A copy of the manifest without the values the schema rejected (and fragments missing a field). */
function withoutInvalid(data: unknown, issues: Issue[]): unknown {
  const copy = structuredClone(data) as Record<string, unknown>;
  for (const issue of issues) {
    const p = [...(issue.path as Path)];
    if (issue.code === 'unrecognized_keys') {
      const owner = getPath(copy, p);
      for (const key of issue.keys) if (owner && typeof owner === 'object') delete (owner as Record<string, unknown>)[key];
      continue;
    }
    if (issue.message.startsWith('required:')) p.pop();
    if (p.length === 0) continue;
    const owner = getPath(copy, p.slice(0, -1));
    if (owner && typeof owner === 'object') delete (owner as Record<string | number, unknown>)[p[p.length - 1]];
  }
  return copy;
}

function getPath(value: unknown, p: Path): unknown {
  return p.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined), value);
}

function knownFields(p: Path): string[] {
  const keys = (schema: { shape: object }) => Object.keys(schema.shape);
  const root = RouteManifestSchema.shape;
  if (p.length === 0) return keys(RouteManifestSchema);
  if (p.length === 1 && p[0] === 'defaults') return keys(root.defaults.unwrap());
  if (p.length === 1 && p[0] === 'limits') return keys(root.limits.unwrap());
  if (p.length === 1 && p[0] === 'timeouts') return keys(root.timeouts.unwrap());
  if (p.length === 1 && p[0] === 'onFailure') return keys(root.onFailure.unwrap());
  if (p.length === 1 && p[0] === 'page') return keys(root.page.unwrap());
  if (p.length === 1 && p[0] === 'assignment') return keys(root.assignment.unwrap());
  if (p.length === 2 && p[0] === 'fragments') return keys(FragmentManifestSchema);
  if (p.length === 4 && p[0] === 'fragments' && p[2] === 'variants') return keys(VariantManifestSchema);
  if ((p.length === 3 && p[2] === 'fallback') || (p.length === 5 && p[2] === 'variants' && p[4] === 'fallback')) return ['html', 'src', 'keep'];
  return [];
}

function fieldName(p: Path): string {
  return p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function findNode(doc: Document, p: Path, wantKey: boolean): { node?: YamlNode; keyNode?: YamlNode } {
  let node = doc.contents as YamlNode | null;
  let keyNode: YamlNode | undefined;
  let parent: YamlNode | undefined;
  for (const [i, segment] of p.entries()) {
    if (!node) break;
    parent = node;
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return { node: parent };
      keyNode = pair.key as YamlNode;
      node = (pair.value as YamlNode | null) ?? null;
    } else if ('items' in node && Array.isArray((node as { items: unknown[] }).items) && typeof segment === 'number') {
      node = ((node as { items: YamlNode[] }).items[segment] as YamlNode) ?? null;
    } else {
      return { node: parent };
    }
    if (i === p.length - 1 && wantKey) return { node: node ?? undefined, keyNode };
  }
  return { node: node ?? keyNode ?? parent, keyNode: node ? undefined : keyNode };
}
