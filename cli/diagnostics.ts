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
}

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.field ? `${d.field}: ` : ''}${d.message}`;
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
