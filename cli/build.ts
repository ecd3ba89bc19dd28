import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledManifests } from '../gateway/contract/types';

/** Where the Worker imports compiled manifests from (gateway/index.ts). */
export const GENERATED_ROUTES = path.resolve(import.meta.dirname, '../gateway/generated/routes.json');

/**
 * The module the Worker loads re2js from on first need (gateway/regex-engine.ts
 * imports it as `./generated/re2js.js`; wrangler.toml uploads it beside the
 * bundle, which never includes it).
 */
export const GENERATED_REGEX_ENGINE = path.resolve(import.meta.dirname, '../gateway/generated/re2js.js');

/**
 * Writes compiled manifests atomically: wrangler's watcher, or a second
 * `tessera dev`, must never read a half-written file.
 */
export async function writeCompiled(manifests: CompiledManifests, file = GENERATED_ROUTES): Promise<void> {
  await writeAtomically(file, `${JSON.stringify(manifests, null, 1)}\n`);
}

/** re2js as one ES module with no imports: what workerd is given as `generated/re2js.js`. */
export async function regexEngineModule(): Promise<string> {
  // Imported here, not at the top: `tessera --help` and `validate` never pay for esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    stdin: { contents: "export * from 're2js';", resolveDir: import.meta.dirname, loader: 'js', sourcefile: 're2js-module.js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker'],
    minify: true,
    legalComments: 'eof',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** Writes the regex engine's module, unless the file already holds it (wrangler would see a change). */
export async function writeRegexEngine(file = GENERATED_REGEX_ENGINE): Promise<void> {
  const contents = await regexEngineModule();
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current !== contents) await writeAtomically(file, contents);
}

async function writeAtomically(file: string, contents: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, contents);
  await rename(temp, file);
}
