import { execFileSync } from 'node:child_process';
import { readProjectConfig } from './project-config';

/**
 * What a deploy would send traffic to. Wrangler runs `tessera build` as its
 * build step for `wrangler dev` and `wrangler deploy` alike and tells it
 * neither, so the step looks at the wrangler command that started it; a
 * deploy must not ship a loopback or missing ORIGIN (the wrangler.toml
 * default is a local one, for previews).
 */
export interface DeployTarget {
  /** The ORIGIN the deploy would ship, from `--var ORIGIN:…` or the config's [vars]. */
  origin: string | undefined;
  /** Where that value came from, for the message. */
  from: string;
}

/** The arguments of the wrangler command this process runs under, if any (Linux and macOS). */
export function wranglerArguments(pid = process.ppid): string[] | undefined {
  for (let current = pid, hops = 0; current > 1 && hops < 6; hops++) {
    let line: string;
    try {
      line = execFileSync('ps', ['-o', 'ppid=,args=', '-p', String(current)], { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
    const match = /^(\d+)\s+(.*)$/.exec(line);
    if (!match) return undefined;
    const args = match[2].split(/\s+/);
    const at = args.findIndex((arg) => /(^|\/)wrangler(\.js)?$/.test(arg));
    if (at !== -1) return args.slice(at + 1);
    current = Number(match[1]);
  }
  return undefined;
}

/** Whether those arguments deploy (as opposed to `wrangler dev`, `types`, …). */
export function isDeploy(args: readonly string[]): boolean {
  const command = args.filter((arg) => !arg.startsWith('-'));
  return command[0] === 'deploy' || command[0] === 'publish' || (command[0] === 'versions' && command[1] === 'upload');
}

/** `--var ORIGIN:https://…` (or `--var=ORIGIN:…`) among wrangler's arguments. */
export function originFromArguments(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const value = args[i] === '--var' ? args[i + 1] : args[i].startsWith('--var=') ? args[i].slice(6) : undefined;
    if (value?.startsWith('ORIGIN:')) return value.slice('ORIGIN:'.length);
  }
  return undefined;
}

/** The wrangler environment those arguments select (`--env`, `-e`, or CLOUDFLARE_ENV). */
export function environmentFromArguments(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--env' || args[i] === '-e') return args[i + 1];
    if (args[i].startsWith('--env=')) return args[i].slice(6);
  }
  return process.env.CLOUDFLARE_ENV || undefined;
}

/** Why this ORIGIN must not be deployed, or undefined when it may. */
export function deployOriginProblem({ origin, from }: DeployTarget): string | undefined {
  if (!origin) return `ORIGIN is not set (${from}): set it under [vars] in wrangler.toml, or deploy with --var ORIGIN:https://your-origin`;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `ORIGIN "${origin}" (${from}) is not an absolute URL`;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0.0.0.0') {
    return `ORIGIN ${url.origin} (${from}) is this machine: the deployed Worker could never reach it. Deploy with --var ORIGIN:https://your-origin, or set TESSERA_ALLOW_LOOPBACK_ORIGIN=1 if you mean it`;
  }
  return undefined;
}

/**
 * The ORIGIN a deploy with these wrangler arguments would ship: `--origin`
 * (tessera build's own flag) first, then wrangler's `--var ORIGIN:…`, then the
 * [vars] of the environment they select.
 */
export function deployTarget(args: readonly string[], explicitOrigin?: string): DeployTarget {
  if (explicitOrigin) return { origin: explicitOrigin, from: '--origin' };
  const fromArguments = originFromArguments(args);
  if (fromArguments !== undefined) return { origin: fromArguments, from: 'wrangler --var' };
  return { origin: readProjectConfig(environmentFromArguments(args)).vars.ORIGIN, from: '[vars] in wrangler.toml' };
}

/** The one-line refusal, or undefined when the deploy may go ahead (or TESSERA_ALLOW_LOOPBACK_ORIGIN=1 says so). */
export function deployRefusal(target: DeployTarget): string | undefined {
  if (process.env.TESSERA_ALLOW_LOOPBACK_ORIGIN === '1') return undefined;
  const problem = deployOriginProblem(target);
  return problem && `not deploying: ${problem}`;
}
