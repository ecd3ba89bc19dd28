import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledManifests } from '../gateway/contract/types';

/** Where the Worker imports compiled manifests from (gateway/index.ts). */
export const GENERATED_ROUTES = path.resolve(import.meta.dirname, '../gateway/generated/routes.json');

/**
 * Writes compiled manifests atomically: wrangler's watcher, or a second
 * `tessera dev`, must never read a half-written file.
 */
export async function writeCompiled(manifests: CompiledManifests, file = GENERATED_ROUTES): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, `${JSON.stringify(manifests, null, 1)}\n`);
  await rename(temp, file);
}
