#!/usr/bin/env node
/**
 * `npm test`'s type check: the three projects (gateway, its unit tests, the
 * Node side) at once rather than one after another, each incremental, with its
 * build info in node_modules/.cache (never in the tree), so a run after a
 * small change re-checks only what changed. Prints each failing project's
 * errors and exits non-zero if any failed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cache = path.join(root, 'node_modules', '.cache', 'tessera-tsc');
mkdirSync(cache, { recursive: true });
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const projects = ['tsconfig.json', 'test/tsconfig.json', 'cli/tsconfig.json'];

const results = await Promise.all(
  projects.map(
    (project) =>
      new Promise((resolve) => {
        const info = path.join(cache, `${project.replaceAll('/', '-')}.tsbuildinfo`);
        const child = spawn(process.execPath, [tsc, '-p', project, '--incremental', '--tsBuildInfoFile', info], { cwd: root });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('close', (code) => resolve({ project, code, output }));
      }),
  ),
);
for (const { project, code, output } of results) if (code !== 0) process.stdout.write(`tsc -p ${project}:\n${output}`);
process.exit(results.some(({ code }) => code !== 0) ? 1 : 0);
