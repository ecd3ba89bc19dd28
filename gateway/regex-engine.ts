import type * as Re2js from 're2js';

/**
 * re2js, the RE2 engine behind ESI's `matches`, `matches_i` and `=~`, is half
 * the Worker's code and serves only those tests. So it is a module of its own,
 * gateway/generated/re2js.js (written by `tessera build`, uploaded beside the
 * bundle through wrangler.toml's `find_additional_modules`, given to workerd
 * as a second module by the dev host), which is instantiated and run the first
 * time a request awaits `loadRegexEngine()`, never at the Worker's startup.
 * (workerd's module registry still compiles every uploaded module when the
 * Worker starts: the engine's parse stays there, its evaluation does not.)
 * The expression evaluator, which runs inside the synchronous ESI stream, then
 * takes it from `regexEngine()`.
 *
 * The specifier is a variable so that no bundler (wrangler's esbuild, the dev
 * host's) follows it into the bundle: the import is left for the runtime,
 * which resolves it against the bundle's entry module. This file sits beside
 * the entry (gateway/index.ts) so that the same specifier also holds where
 * the module runs unbundled (the Vitest workers pool).
 */
export type RegexEngine = typeof Re2js;

const MODULE = './generated/re2js.js';

let engine: RegexEngine | undefined;
let failure: string | undefined;
let loading: Promise<void> | undefined;

/**
 * Loads the engine, once per isolate: after the first call this is a settled
 * promise. It never rejects: a failure is kept (and logged once), and each
 * pattern test then fails as a test that does not parse does.
 */
export function loadRegexEngine(): Promise<void> {
  loading ??= importModule(MODULE).then(
    (module) => {
      engine = module as RegexEngine;
    },
    (error: unknown) => {
      failure = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
      console.error(`tessera: the regular expression engine (${MODULE}) did not load: ${failure}`);
    },
  );
  return loading;
}

/** The engine if it has loaded; otherwise why not. */
export function regexEngine(): RegexEngine | { unavailable: string } {
  return engine ?? { unavailable: failure ?? 'it is not loaded yet' };
}

/** A function, so that not even a minifier's constant folding hands the specifier to the bundler. */
function importModule(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}
