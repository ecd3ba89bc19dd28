import { readFileSync } from 'node:fs';
import type { Command } from './commands/command';
import { closest } from './diagnostics';
import type { CliIo } from './io';

/**
 * Every command, with the one line `tessera --help` shows. A command's module
 * is imported only when it runs (or prints its own --help): `tessera --help`
 * and a typo must not pay for workerd, YAML and zod. test/cli/cli-manners.test.ts
 * checks each summary against the command's own.
 */
export const COMMANDS: readonly { name: string; summary: string; load(): Promise<Command> }[] = [
  {
    name: 'dev',
    summary: 'Run the gateway locally in front of an origin; manifest edits reload live',
    load: async () => (await import('./dev/run-dev')).devCommand,
  },
  {
    name: 'validate',
    summary: 'Check manifests; exits 1 and lists every problem as file:line:column',
    load: async () => (await import('./commands/validate')).validateCommand,
  },
  {
    name: 'check',
    summary: 'Fetch origin pages and lint their markup against the manifests',
    load: async () => (await import('./commands/check')).checkCommand,
  },
  { name: 'build', summary: 'Compile manifests into the module the Worker imports', load: async () => (await import('./commands/build')).buildCommand },
  {
    name: 'deploy',
    summary: 'Deploy with wrangler, after checking that ORIGIN is a real one',
    load: async () => (await import('./commands/deploy')).deployCommand,
  },
  {
    name: 'init',
    summary: 'Write a starter manifest, wired to the JSON Schema for editor help',
    load: async () => (await import('./commands/init')).initCommand,
  },
  {
    name: 'schema',
    summary: 'Print (or write) the JSON Schema of manifests, for editors',
    load: async () => (await import('./commands/schema')).schemaCommand,
  },
];

const USAGE = `Usage: tessera <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run tessera <command> --help for its options; tessera --version for the version.
`;

/** Runs one command; returns the exit code, or undefined for a long-running command. */
export async function cli(argv: string[], io: CliIo): Promise<number | undefined> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err.write(USAGE);
    return 1;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    io.out.write(USAGE);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out.write(`tessera ${version()}\n`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const hint = closest(
      name,
      COMMANDS.map((c) => c.name),
    );
    io.err.write(`tessera: unknown command "${name}"${hint ? `; did you mean "${hint}"?` : ''}\n\n${USAGE}`);
    return 1;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out.write(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // Bad flags and the like: one line, no stack trace; a flag error says where the flags are.
    const message = error instanceof Error ? error.message : String(error);
    const flagError = String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
    io.err.write(`tessera ${name}: ${message}${flagError ? ` (see tessera ${name} --help)` : ''}\n`);
    return 1;
  }
}

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
