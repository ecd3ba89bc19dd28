#!/usr/bin/env node
// The only place that touches process.exit; everything else is cli(argv, io).
import { register } from 'tsx/esm/api';

register();
const { cli } = await import('../main.ts');
const code = await cli(process.argv.slice(2), { out: process.stdout, err: process.stderr, cwd: process.cwd() });
if (code !== undefined) process.exitCode = code;
