import path from 'node:path';

/** A path as the user would type it: relative inside the working directory, absolute outside it. */
export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative === '' ? '.' : relative.startsWith('..') ? file : relative;
}
