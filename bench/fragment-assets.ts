/**
 * `npm run bench:fragment-assets`: fragment assets (issue 23) measured in
 * Debian's Chromium, on the demo product page, against today's gateway.
 *
 * - now: this tree's gateway; the demo's fragments name their stylesheets and
 *   scripts in Link headers (the price's in the manifest), as the demo does.
 * - today: the gateway as of `BASE` (the commit before fragment assets), run
 *   from a git worktree; the same fragments link their stylesheets and
 *   scripts in their own markup, the way fragments are written for a gateway
 *   that does nothing with assets.
 *
 * Same demo origin, same latencies (assets 120 ms each), the recommendations
 * uncached (ttl 0) so they arrive late, out of order, on every view. Each
 * view is a fresh browser context (an empty HTTP cache) after one warm-up
 * view per gateway (the route has learnt its assets; the page and the other
 * fragments are cached as their manifest says).
 *
 * Printed, as medians of interleaved rounds: asset requests and duplicates,
 * when the recommendations' stylesheet was requested and when the fragment
 * arrived, fragments seen unstyled at a frame, FCP and LCP, and now ÷ today.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startDevServer } from '../cli/dev/dev-server';
import { startDemoOrigin } from '../fragments/demo-origin';
import { CHROMIUM, chromiumPresent, launchChromium } from '../tools/debian-chromium';
import { freePort, quietIo } from '../tools/local-server';

const ROUNDS = process.argv.includes('--full') ? 15 : 5;
/** The gateway before fragment assets; `--base REV` picks another. */
const BASE = process.argv.includes('--base') ? process.argv[process.argv.indexOf('--base') + 1] : '3613ddf34f2bca61b33dbc1b7b108d960b635a0b';
const ROOT = path.resolve(import.meta.dirname, '..');

if (!chromiumPresent) {
  console.error(`no browser at ${CHROMIUM}: apt-get install chromium`);
  process.exit(1);
}

/** The demo's manifests with the recommendations uncached; today's without `assets:` (its schema has none). */
async function manifestsFor(variant: 'now' | 'today'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `tessera-bench-assets-${variant}-`));
  for (const file of await readdir(path.join(ROOT, 'manifests'))) {
    let text = await readFile(path.join(ROOT, 'manifests', file), 'utf8');
    text = text.replace(/(\n {2}recs:\n(?: {4}.*\n)*? {4}ttl: )60s/, '$10');
    if (variant === 'today') text = text.replace(/\n {4}assets: .*/g, '');
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

/** Today's gateway: the base commit checked out beside this tree, sharing its node_modules. */
async function todaysDevServer(): Promise<{ dir: string; start: typeof startDevServer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-bench-base-'));
  execFileSync('git', ['worktree', 'add', '--detach', dir, BASE], { cwd: ROOT, stdio: 'ignore' });
  if (!existsSync(path.join(dir, 'node_modules'))) symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const module = (await import(path.join(dir, 'cli/dev/dev-server.ts'))) as { startDevServer: typeof startDevServer };
  return { dir, start: module.startDevServer };
}

/** Runs in the page from its first byte: each fragment element at the first frame it is in the document, with its style then. */
const STYLED = [
  { fragment: 'header', selector: 'header.site', property: 'background-color', value: 'rgb(29, 59, 83)' },
  { fragment: 'footer', selector: 'footer.site', property: 'background-color', value: 'rgb(29, 59, 83)' },
  { fragment: 'price', selector: '.price strong', property: 'color', value: 'rgb(179, 38, 30)' },
  { fragment: 'recs', selector: '.recs li', property: 'border-bottom-style', value: 'solid' },
];
const WATCH = `
window.__frames = []; window.__lcp = 0;
const styled = ${JSON.stringify(STYLED)};
const frame = () => {
  for (const s of styled) {
    const el = document.querySelector(s.selector);
    if (el && !window.__frames.some((f) => f.fragment === s.fragment))
      window.__frames.push({ fragment: s.fragment, at: performance.now(), styled: getComputedStyle(el).getPropertyValue(s.property) === s.value });
  }
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
new MutationObserver(() => { if (window.__recsAt === undefined && document.querySelector('.recs')) window.__recsAt = performance.now(); })
  .observe(document, { childList: true, subtree: true });
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__lcp = e.startTime; }).observe({ type: 'largest-contentful-paint', buffered: true });
`;

interface Sample {
  assetRequests: number;
  duplicates: number;
  unstyled: number;
  recsCssStart: number;
  recsAt: number;
  ttfb: number;
  fcp: number;
  lcp: number;
}

async function measure(browser: Browser, url: string): Promise<Sample> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.addInitScript({ content: WATCH });
  const requested: string[] = [];
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (pathname.startsWith('/assets/')) requested.push(pathname);
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction('document.querySelector(".recs li") !== null && window.__frames.length === 4', undefined, { timeout: 10_000 });
  await page.waitForTimeout(100);
  const seen = (await page.evaluate(`({
    frames: window.__frames,
    recsAt: window.__recsAt,
    lcp: window.__lcp,
    ttfb: performance.getEntriesByType('navigation')[0].responseStart,
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
    recsCss: performance.getEntriesByType('resource').find((r) => r.name.endsWith('/assets/recs.css'))?.startTime ?? -1,
  })`)) as { frames: Array<{ styled: boolean }>; recsAt: number; lcp: number; ttfb: number; fcp: number; recsCss: number };
  await context.close();
  if (process.env.DEBUG_ASSETS) console.log(url, JSON.stringify(seen));
  return {
    assetRequests: requested.length,
    duplicates: requested.length - new Set(requested).size,
    unstyled: seen.frames.filter((f) => !f.styled).length,
    recsCssStart: seen.recsCss,
    recsAt: seen.recsAt,
    ttfb: seen.ttfb,
    fcp: seen.fcp,
    lcp: seen.lcp,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const origins = { now: await startDemoOrigin(), today: await startDemoOrigin({ assetsInMarkup: true }) };
const manifests = { now: await manifestsFor('now'), today: await manifestsFor('today') };
const base = await todaysDevServer();
const io = quietIo(process.cwd()).io;
const servers = {
  now: await startDevServer({ origin: origins.now.url, manifests: manifests.now, port: await freePort(), demo: false, io }),
  today: await base.start({ origin: origins.today.url, manifests: manifests.today, port: await freePort(), demo: false, io: quietIo(base.dir).io }),
};
const variants = ['today', 'now'] as const;
/** Chromium applies `<template for>` itself; browsers without it get the fallback script (as in bench:out-of-order). */
const browsers = { native: await launchChromium(), script: await launchChromium(['--disable-blink-features=DocumentPatching']) };
type Patching = keyof typeof browsers;
const samples = new Map<string, Sample[]>();
const key = (v: string, p: Patching) => `${v} ${p}`;
try {
  for (const v of variants) await measure(browsers.native, `${servers[v].url}/products/42`); // Warm-up: the route learns its assets.
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of ['native', 'script'] as const) {
      for (const v of variants) samples.set(key(v, p), [...(samples.get(key(v, p)) ?? []), await measure(browsers[p], `${servers[v].url}/products/42`)]);
    }
  }
} finally {
  await browsers.native.close();
  await browsers.script.close();
  await servers.now.close();
  await servers.today.close();
  await origins.now.close();
  await origins.today.close();
  execFileSync('git', ['worktree', 'remove', '--force', base.dir], { cwd: ROOT, stdio: 'ignore' });
  for (const dir of Object.values(manifests)) await rm(dir, { recursive: true, force: true });
}

const row = (v: (typeof variants)[number], p: Patching) => {
  const s = samples.get(key(v, p)) ?? [];
  const m = (key: keyof Sample) => median(s.map((x) => x[key]));
  return {
    requests: m('assetRequests'),
    duplicates: m('duplicates'),
    unstyled: s.reduce((sum, x) => sum + x.unstyled, 0),
    recsCss: m('recsCssStart'),
    recsAt: m('recsAt'),
    ttfb: m('ttfb'),
    fcp: m('fcp'),
    lcp: m('lcp'),
  };
};
console.log(
  `\nFragment assets in Chromium: the demo product page, recommendations uncached, assets 120 ms (${ROUNDS} rounds, medians; today = ${BASE.slice(0, 7)})\n`,
);
console.log(
  '| gateway | template patching | asset requests | duplicates | fragments unstyled at a frame (all rounds) | recs.css requested | recs in the page | TTFB | FCP | LCP |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const p of ['native', 'script'] as const) {
  for (const v of variants) {
    const r = row(v, p);
    console.log(
      `| ${v} | ${p === 'native' ? 'Chromium' : 'fallback script'} | ${r.requests} | ${r.duplicates} | ${r.unstyled} | ${r.recsCss.toFixed(0)} ms | ${r.recsAt.toFixed(0)} ms | ${r.ttfb.toFixed(0)} ms | ${r.fcp.toFixed(0)} ms | ${r.lcp.toFixed(0)} ms |`,
    );
  }
}
for (const p of ['native', 'script'] as const) {
  const [today, now] = [row('today', p), row('now', p)];
  console.log(
    `now ÷ today (${p === 'native' ? 'Chromium patching' : 'fallback script'}): FCP ${(now.fcp / today.fcp).toFixed(2)}, LCP ${(now.lcp / today.lcp).toFixed(2)}, recommendations in the page ${(now.recsAt / today.recsAt).toFixed(2)}`,
  );
}
