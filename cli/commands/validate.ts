import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { manifestWarnings } from '../../gateway/manifest/warnings';
import { type Diagnostic, FORMAT_OPTIONS, FORMAT_USAGE, formatDiagnostic, githubAnnotation, jsonProblem, outputFormat, sortDiagnostics } from '../diagnostics';
import { displayPath } from '../display-path';
import { loadManifests } from '../load-manifests';
import { type Command, count, missingPath } from './command';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check manifests; exits 1 and lists every problem as file:line:column',
  usage: `Usage: tessera validate [DIR or FILE] [--json | --format github]

Checks every manifest in DIR (default: manifests), or one FILE, and prints every problem of
every file at once, as file:line:column: field: what is wrong. Exits 1 when
there is any. What is valid but probably not meant (timeout: 300, which is
five minutes) is a warning: file:line:column: warning: …, and passes.

${FORMAT_USAGE}
`,
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: FORMAT_OPTIONS });
    const format = outputFormat(values);
    const dir = path.resolve(io.cwd, positionals[0] ?? 'manifests');
    const missing = await missingPath(dir, io.cwd);
    if (missing) {
      io.err.write(`tessera validate: ${missing}\n`);
      return 1;
    }
    const result = await loadManifests(dir, io.cwd);
    const errors = result.diagnostics;
    const warnings = await warningsOf(result.files, io.cwd);
    // Entries skipped because they cannot be read (a dangling symlink), when the loader reports them.
    const skipped = (result as { warnings?: string[] }).warnings ?? [];
    const where = displayPath(dir, io.cwd);
    const summary = errors.length
      ? `${count(errors.length, 'problem')} in ${where}`
      : `${count(result.files.length, 'manifest')} OK: ${(result.manifests?.routes ?? [])
          .map((r) => `${r.name} (${r.patterns.join(', ')}, ${count(Object.keys(r.fragments).length, 'fragment')})`)
          .join('; ')}`;
    const warned = warnings.length + skipped.length ? ` (${count(warnings.length + skipped.length, 'warning')})` : '';

    if (format === 'json') {
      const problems = sortDiagnostics([...errors, ...warnings]).map(jsonProblem);
      for (const line of skipped)
        problems.push({ file: line.split(': ')[0], line: 1, column: 1, message: line.split(': ').slice(1).join(': '), severity: 'warning' });
      const document = {
        problems,
        summary: { errors: errors.length, warnings: warnings.length + skipped.length, manifests: result.files.length, ok: errors.length === 0, text: summary },
      };
      io.out.write(`${JSON.stringify(document, null, 2)}\n`);
    } else if (format === 'github') {
      for (const d of sortDiagnostics([...errors, ...warnings])) io.out.write(`${githubAnnotation(jsonProblem(d))}\n`);
      for (const line of skipped) io.out.write(`${githubAnnotation({ file: line.split(': ')[0], line: 1, column: 1, message: line, severity: 'warning' })}\n`);
      io.out.write(`tessera validate: ${summary}${warned}\n`);
    } else {
      for (const line of skipped) io.err.write(`tessera validate: warning: ${line}\n`);
      for (const d of sortDiagnostics([...errors, ...warnings])) io.err.write(`${formatDiagnostic(d)}\n`);
      if (errors.length) io.err.write(`\n${summary}${warned}\n`);
      else io.out.write(`${summary}${warned ? `\n${count(warnings.length + skipped.length, 'warning')} above` : ''}\n`);
    }
    return errors.length ? 1 : 0;
  },
};

/** The warnings of each manifest (gateway/manifest/warnings.ts), pinned to their place in its file. */
async function warningsOf(files: string[], cwd: string): Promise<Diagnostic[]> {
  const found: Diagnostic[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
    if (doc.errors.length) continue;
    for (const warning of manifestWarnings(doc.toJS())) {
      const node = doc.getIn(warning.path, true);
      const { line, col } = lines.linePos(isNode(node) && node.range ? node.range[0] : 0);
      found.push({
        file: displayPath(file, cwd),
        line,
        column: col,
        field: warning.path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join(''),
        message: warning.message,
        source: text.split(/\r?\n/)[line - 1],
        severity: 'warning',
      });
    }
  }
  return found;
}
