import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { displayPath } from '../display-path';
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
    const dir = path.resolve(io.cwd, values.manifests ?? 'manifests');
    const file = path.join(dir, `${values.name ?? 'page'}.yaml`);
    if (await stat(file).catch(() => undefined)) {
      io.err.write(`tessera init: ${displayPath(file, io.cwd)} exists already; not overwritten (choose another --name)\n`);
      return 1;
    }
    await mkdir(dir, { recursive: true });
    const schema = path.relative(dir, SCHEMA_FILE).split(path.sep).join('/');
    await writeFile(file, starter(values.route ?? '/', schema));
    io.out.write(`tessera init: wrote ${displayPath(file, io.cwd)}; check it with: npx tessera validate ${displayPath(dir, io.cwd)}\n`);
    return 0;
  },
};

function starter(route: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# One route: the page at this path is assembled from the fragments below.
# Mark each fragment's place in the origin's HTML with <div data-slot="id">…</div>
# (its content is the fallback), or with <esi:include src="…"/>.
route: ${route}
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
