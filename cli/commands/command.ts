import { stat } from 'node:fs/promises';
import { displayPath } from '../display-path';
import type { CliIo } from '../io';

/** One `tessera` subcommand: its help text and what it does. */
export interface Command {
  name: string;
  /** One line for `tessera --help`. */
  summary: string;
  /** The whole of `tessera NAME --help`. */
  usage: string;
  /** The exit code, or `undefined` for a command that runs until stopped. */
  run(argv: string[], io: CliIo): Promise<number | undefined>;
}

/** `1 route`, `2 routes`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `manifests-x does not exist` for a manifests directory (or file) that is not there; undefined when it is. */
export async function missingPath(target: string, cwd: string): Promise<string | undefined> {
  return (await stat(target).catch(() => undefined)) ? undefined : `${displayPath(target, cwd)} does not exist`;
}
