import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { displayPath } from '../display-path';
import { manifestJsonSchema } from '../manifest-json-schema';
import type { Command } from './command';

export const schemaCommand: Command = {
  name: 'schema',
  summary: 'Print (or write) the JSON Schema of manifests, for editors',
  usage: `Usage: tessera schema [--out FILE]

Prints the JSON Schema of route manifests, generated from the schema the
validator uses. The project ships it as schema/manifest.schema.json, which the
manifests' "# yaml-language-server: $schema=" line points editors at.

  --out FILE   write it to FILE instead of printing it
`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } } });
    const text = `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
    if (!values.out) {
      io.out.write(text);
      return 0;
    }
    const out = path.resolve(io.cwd, values.out);
    await writeFile(out, text);
    io.out.write(`tessera schema: wrote ${displayPath(out, io.cwd)}\n`);
    return 0;
  },
};
