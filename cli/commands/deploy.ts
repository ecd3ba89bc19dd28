import { spawn } from 'node:child_process';
import path from 'node:path';
import { deployRefusal, deployTarget } from '../deploy-origin';
import { PROJECT } from '../project-config';
import type { Command } from './command';

/**
 * `npm run deploy`: checks ORIGIN before wrangler starts, then runs
 * `wrangler deploy` with the same arguments. The build step that wrangler runs
 * checks it too, but a build step can only fail, and wrangler prints a failed
 * build as a stack trace holding its stderr three times; refused here, the
 * refusal is one line.
 */
export const deployCommand: Command = {
  name: 'deploy',
  summary: 'Deploy with wrangler, after checking that ORIGIN is a real one',
  usage: `Usage: tessera deploy [wrangler deploy options]

Checks the ORIGIN the deploy would ship (--var ORIGIN:…, else [vars] of the
--env it selects) and refuses, in one line, one that is missing, not an
absolute URL, or on this machine; then runs wrangler deploy with the same
options. TESSERA_ALLOW_LOOPBACK_ORIGIN=1 says you mean a loopback ORIGIN.

  npm run deploy -- --var ORIGIN:https://shop.example.com
`,
  async run(argv, io) {
    const refusal = deployRefusal(deployTarget(argv));
    if (refusal) {
      io.err.write(`tessera deploy: ${refusal}\n`);
      return 1;
    }
    const wrangler = path.join(PROJECT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
    const child = spawn(process.execPath, [wrangler, 'deploy', ...argv], { cwd: io.cwd, stdio: 'inherit' });
    return new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  },
};
