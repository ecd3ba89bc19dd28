import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { displayPath } from '../display-path';
import { checkManifest } from '../load-manifests';
import { PROJECT } from '../project-config';
import type { Command } from './command';

export const SCHEMA_FILE = path.join(PROJECT, 'schema', 'manifest.schema.json');

export const initCommand: Command = {
  name: 'init',
  summary: 'Write a starter manifest, wired to the JSON Schema for editor help',
  usage: `Usage: tessera init [--manifests DIR] [--route PATTERN] [--name NAME]

Writes DIR/NAME.yaml (default: manifests/page.yaml) for the route PATTERN
(default: /), with one fragment of each kind to edit, and a first line that
points YAML editors at the manifest schema: completion and hover docs as you
type. It never overwrites a file.
`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { manifests: { type: 'string' }, route: { type: 'string' }, name: { type: 'string' } } });
    const name = values.name ?? 'page';
    if (!/^[\w.-]+$/.test(name) || name.startsWith('.')) throw new Error(`--name must be a file name of letters, digits, ., - and _, got "${name}"`);
    const dir = path.resolve(io.cwd, values.manifests ?? 'manifests');
    const file = path.join(dir, `${name}.yaml`);
    const route = values.route ?? '/';
    const text = starter(route, path.relative(dir, SCHEMA_FILE).split(path.sep).join('/'));
    // The same rules as tessera validate: init never writes a manifest validate would refuse.
    const [problem] = checkManifest(text, displayPath(file, io.cwd), name).diagnostics;
    if (problem) {
      io.err.write(`tessera init: --route ${route}: ${problem.message}; nothing written\n`);
      return 1;
    }
    const taken = await routedBy(dir, route, io.cwd);
    if (taken) {
      io.err.write(`tessera init: --route ${route}: pattern "${route}" is already routed by ${taken}; nothing written\n`);
      return 1;
    }
    if (await stat(file).catch(() => undefined)) {
      io.err.write(`tessera init: ${displayPath(file, io.cwd)} exists already; not overwritten (choose another --name)\n`);
      return 1;
    }
    await mkdir(dir, { recursive: true });
    await writeFile(file, text);
    io.out.write(`tessera init: wrote ${displayPath(file, io.cwd)}; check it with: npx tessera validate ${displayPath(dir, io.cwd)}\n`);
    return 0;
  },
};

/** The manifest in dir that routes this pattern already, as validate would find it. */
async function routedBy(dir: string, route: string, cwd: string): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /\.ya?ml$/.test(n)).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    const text = await readFile(file, 'utf8').catch(() => '');
    if (checkManifest(text, displayPath(file, cwd), name).patterns.includes(route)) return displayPath(file, cwd);
  }
  return undefined;
}

function starter(route: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# One route: the page at this path is assembled from the fragments below.
# Mark each fragment's place in the origin's HTML with <div data-slot="id">…</div>
# (its content is the fallback), or with <esi:include src="…"/>.
route: ${/^\/[\w\-./:*+?(){}]*$/.test(route) ? route : JSON.stringify(route)}
fragments:
  header:
    src: /fragments/header       # a path on the origin
    ttl: 10m                     # cached for ten minutes
  recommendations:
    src: /fragments/recs?user={cookie.uid|guest}
    timeout: 300ms
    fallback: keep               # the marker's own content stays if it is slow or fails
`;
}
