import { readFileSync } from 'node:fs';
import { buildCommand } from './commands/build';
import { checkCommand } from './commands/check';
import type { Command } from './commands/command';
import { initCommand } from './commands/init';
import { schemaCommand } from './commands/schema';
import { validateCommand } from './commands/validate';
import { devCommand } from './dev/run-dev';
import type { CliIo } from './io';

const COMMANDS: Command[] = [devCommand, validateCommand, checkCommand, buildCommand, initCommand, schemaCommand];

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
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err.write(`tessera: unknown command "${name}"\n\n${USAGE}`);
    return 1;
  }
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
