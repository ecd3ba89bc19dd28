import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const PROJECT = path.resolve(import.meta.dirname, '..');

/**
 * Compatibility settings from the project's wrangler.toml, read by wrangler
 * itself — in a child process, because importing wrangler here would install
 * its signal handlers, which exit before `tessera dev` can stop its children.
 */
export function readProjectConfig(env?: string): { compatibility_date: string; compatibility_flags: string[]; vars: Record<string, string | undefined> } {
  const script = `import('wrangler').then(({ unstable_readConfig }) => {
    const c = unstable_readConfig({ config: ${JSON.stringify(path.join(PROJECT, 'wrangler.toml'))}, env: ${JSON.stringify(env)} });
    process.stdout.write(JSON.stringify({ compatibility_date: c.compatibility_date, compatibility_flags: c.compatibility_flags, vars: c.vars ?? {} }));
  })`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  return JSON.parse(output);
}
