/**
 * `npm run bench`: the side-by-side page assembly bench, the fragment cache
 * bench, and out-of-order placement in Chromium. `npm run bench -- --full`
 * runs more rounds of each.
 */
await import('./page-assembly');
await import('./cache');
await import('./out-of-order');

export {};
