import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseEnv } from 'node:util';
import { PROJECT } from '../project-config';

/**
 * The bindings of the project `tessera dev` runs in, as `wrangler dev` would
 * give them: `[vars]`, KV namespaces and Analytics Engine datasets from its
 * wrangler.toml, and the secrets in `.dev.vars` beside it (which win over
 * `[vars]`). So segments, purge versions, last-good copies and `PUBLIC_HOST`
 * can be previewed. KV lives in workerd's memory for the session.
 */
export interface DevBindings {
  vars: Record<string, string>;
  kvNamespaces: string[];
  analyticsEngineDatasets: Record<string, { dataset: string }>;
  /** What was read, for the startup banner: file names relative to the project. */
  sources: string[];
}

export function readDevBindings(dir: string): DevBindings {
  const bindings: DevBindings = { vars: {}, kvNamespaces: [], analyticsEngineDatasets: {}, sources: [] };
  const configFile = ['wrangler.toml', 'wrangler.jsonc', 'wrangler.json'].map((name) => path.join(dir, name)).find((file) => existsSync(file));
  if (configFile) {
    // Read by wrangler itself, in a child process: importing wrangler here would install its signal handlers.
    // Tessera's own wrangler, whatever the project has installed.
    const wrangler = pathToFileURL(createRequire(path.join(PROJECT, 'package.json')).resolve('wrangler')).href;
    const script = `import(${JSON.stringify(wrangler)}).then(({ unstable_readConfig }) => {
      const c = unstable_readConfig({ config: ${JSON.stringify(configFile)} });
      process.stdout.write(JSON.stringify({ vars: c.vars ?? {}, kv: (c.kv_namespaces ?? []).map((k) => k.binding), ae: (c.analytics_engine_datasets ?? []).map((a) => [a.binding, a.dataset ?? a.binding]) }));
    })`;
    let output: string;
    try {
      output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        cwd: dir,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      throw new Error(`cannot read ${path.basename(configFile)}: ${stderr.split('\n').find((line) => line.trim()) ?? (error as Error).message}`);
    }
    const config = JSON.parse(output) as { vars: Record<string, unknown>; kv: string[]; ae: [string, string][] };
    for (const [name, value] of Object.entries(config.vars)) bindings.vars[name] = typeof value === 'string' ? value : JSON.stringify(value);
    bindings.kvNamespaces = config.kv;
    bindings.analyticsEngineDatasets = Object.fromEntries(config.ae.map(([binding, dataset]) => [binding, { dataset }]));
    bindings.sources.push(path.basename(configFile));
  }
  const devVars = path.join(dir, '.dev.vars');
  if (existsSync(devVars)) {
    Object.assign(bindings.vars, parseEnv(readFileSync(devVars, 'utf8')));
    bindings.sources.push('.dev.vars');
  }
  return bindings;
}
