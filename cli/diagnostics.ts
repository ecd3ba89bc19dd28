/**
 * A problem in a manifest, pinned to a place in its file. Printed as
 * `manifests/home.yaml:12:7: fragments.price.ttl: expected …, got …` followed
 * by the source line and a caret, the way compilers do it.
 */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  /** Dotted field path such as `fragments.price.ttl`; empty for file-level problems. */
  field: string;
  message: string;
  /** The source line, for the caret display. */
  source?: string;
  /** A warning does not fail the command; absent means an error. */
  severity?: 'error' | 'warning';
}

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.field ? `${d.field}: ` : ''}${d.message}`;
  if (d.source === undefined) return head;
  const gutter = `${d.line} | `;
  return `${head}\n  ${gutter}${d.source}\n  ${' '.repeat(gutter.length + d.column - 1)}^`;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/** The closest known name within two edits, for "did you mean" hints. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * How a command reports its problems: `text` (file:line:column: …, for people),
 * `json` (one document on stdout, for tools) or `github` (GitHub Actions
 * annotations, which show on the lines of a pull request).
 */
export type OutputFormat = 'text' | 'json' | 'github';

export const FORMAT_OPTIONS = { json: { type: 'boolean' }, format: { type: 'string' } } as const;

export const FORMAT_USAGE = `  --json            print the problems as JSON on stdout: {"problems": [...], "summary": {...}}
  --format F        text (default), json, or github (GitHub Actions annotations)`;

/** The format the --json and --format flags ask for. */
export function outputFormat(values: { json?: boolean; format?: string }): OutputFormat {
  const format = values.format ?? (values.json ? 'json' : 'text');
  if (format !== 'text' && format !== 'json' && format !== 'github') throw new Error(`--format must be text, json or github, got "${format}"`);
  if (values.json && format !== 'json') throw new Error(`--json and --format ${format} disagree: give one`);
  return format;
}

/** A problem as --json prints it: `file` for a manifest, `url` for a page. */
export interface JsonProblem {
  file?: string;
  url?: string;
  line: number;
  column: number;
  field?: string;
  message: string;
  severity: 'error' | 'warning';
}

export function jsonProblem(d: Diagnostic): JsonProblem {
  return { file: d.file, line: d.line, column: d.column, ...(d.field ? { field: d.field } : {}), message: d.message, severity: d.severity ?? 'error' };
}

/** One GitHub Actions workflow command: `::error file=…,line=…,col=…::message`. */
export function githubAnnotation(p: JsonProblem): string {
  const property = (value: string) => value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/:/g, '%3A').replace(/,/g, '%2C');
  const data = (value: string) => value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const where = p.file ?? p.url ?? '';
  const message = `${p.url ? `${p.url}: ` : ''}${p.field ? `${p.field}: ` : ''}${p.message}`;
  return `::${p.severity} file=${property(where)},line=${p.line},col=${p.column}::${data(message)}`;
}
