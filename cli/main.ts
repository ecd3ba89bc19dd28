import path from 'node:path';
import { parseArgs } from 'node:util';
import { GENERATED_ROUTES, writeCompiled } from './build';
import { runDev } from './dev';
import { formatDiagnostic } from './diagnostics';
import { displayPath } from './display-path';
import type { CliIo } from './io';
import { loadManifests } from './load-manifests';

const USAGE = `Usage: tessera <command> [options]

Commands:
  dev        Run the gateway locally in front of an origin; manifest edits reload live
               --origin URL      the origin to front (default: the embedded demo with --demo)
               --manifests DIR   manifests directory (default: manifests)
               --port N          gateway port (default: 8787)
               --demo            start the embedded demo origin and use its manifests
  validate   Check manifests; exits 1 and lists every problem as file:line:column
               [DIR]             manifests directory (default: manifests)
  build      Compile manifests into the module the Worker imports
               --manifests DIR   manifests directory (default: $TESSERA_MANIFESTS or manifests)
               --out FILE        output (default: gateway/generated/routes.json)
`;

/** Runs one command; returns the exit code, or undefined for a long-running command. */
export async function cli(argv: string[], io: CliIo): Promise<number | undefined> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validate(rest, io);
      case 'build':
        return await build(rest, io);
      case 'dev':
        return await runDev(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        io.err.write(`tessera: unknown command "${command}"\n\n${USAGE}`);
        return 1;
    }
  } catch (error) {
    // Bad flags and the like: one line, no stack trace.
    io.err.write(`tessera ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function validate(argv: string[], io: CliIo): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const dir = path.resolve(io.cwd, positionals[0] ?? 'manifests');
  const result = await loadManifests(dir, io.cwd);
  if (result.diagnostics.length) {
    for (const d of result.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
    io.err.write(`\n${result.diagnostics.length} problem${result.diagnostics.length === 1 ? '' : 's'} in ${displayPath(dir, io.cwd)}\n`);
    return 1;
  }
  const routes = result.manifests?.routes ?? [];
  io.out.write(
    `${result.files.length} manifest${result.files.length === 1 ? '' : 's'} OK: ${routes.map((r) => `${r.name} (${r.patterns.join(', ')}, ${Object.keys(r.fragments).length} fragments)`).join('; ')}\n`,
  );
  return 0;
}

async function build(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { manifests: { type: 'string' }, out: { type: 'string' } } });
  const dir = path.resolve(io.cwd, values.manifests ?? process.env.TESSERA_MANIFESTS ?? 'manifests');
  const out = values.out ? path.resolve(io.cwd, values.out) : GENERATED_ROUTES;
  const result = await loadManifests(dir, io.cwd);
  if (!result.manifests) {
    for (const d of result.diagnostics) io.err.write(`${formatDiagnostic(d)}\n`);
    io.err.write(`tessera build: not written; fix the problems above\n`);
    return 1;
  }
  await writeCompiled(result.manifests, out);
  io.out.write(`tessera build: ${result.manifests.routes.length} routes → ${displayPath(out, io.cwd)}\n`);
  return 0;
}
