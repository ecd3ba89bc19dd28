/**
 * `npm run bench`: the side-by-side page assembly bench, then the fragment
 * cache bench. `npm run bench -- --full` runs more rounds of each.
 */
await import('./page-assembly');
await import('./cache');

export {};
