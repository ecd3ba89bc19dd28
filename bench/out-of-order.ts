/// <reference lib="dom" />
/**
 * `npm run bench:out-of-order`: out-of-order placement measured in a real
 * browser. One product page, its recommendations (700 ms) near the top and
 * the footer below, is loaded in Debian's Chromium through the gateway three
 * ways: in order, out of order with an empty placeholder, and out of order
 * with a placeholder sized like the recommendations. Out of order is also
 * loaded with Chromium's own patching switched off, as browsers without
 * `<template for>` see it (the fallback script applies the template).
 *
 * Printed: when the footer entered the DOM, the load event, and the layout
 * shift (CLS), as medians of interleaved rounds; and the out-of-order ÷
 * in-order ratios. Everything runs on 127.0.0.1.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startDevServer } from '../cli/dev/dev-server';
import { CHROMIUM, chromiumPresent, launchChromium } from '../tools/debian-chromium';
import { freePort, quietIo } from '../tools/local-server';

const ROUNDS = process.argv.includes('--full') ? 15 : 5;
const RECS_MS = 700;
const RECS_HEIGHT = 240;

if (!chromiumPresent) {
  console.error(`no browser at ${CHROMIUM}: apt-get install chromium`);
  process.exit(1);
}

const paragraphs = Array.from({ length: 12 }, (_, i) => `<p>Paragraph ${i + 1} of the product description, which arrives with the page.</p>`).join('');
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Boots</title>
<style>body{margin:0;font:16px/1.5 sans-serif} header,footer{background:#1d3b53;color:#fff;padding:12px} .recs{height:${RECS_HEIGHT}px;background:#eef}</style>
</head><body><header>Tessera Outdoor</header><main><h1>Trail boots</h1>
<div data-slot="recs"></div>
${paragraphs}</main><footer>Footer</footer></body></html>`;

const origin = createServer(async (req, res) => {
  if (req.url?.startsWith('/fragments/recs')) {
    await new Promise((resolve) => setTimeout(resolve, RECS_MS));
    res.writeHead(200, { 'content-type': 'text/html' });
    return res.end('<div class="recs"><h2>You may also like</h2><ul><li>Socks</li><li>Jacket</li></ul></div>');
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(PAGE);
});
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

const manifests = await mkdtemp(path.join(tmpdir(), 'tessera-bench-ooo-'));
const recs = (extra: string) => `fragments:\n  recs: { src: /fragments/recs, ttl: 0, timeout: 2s${extra} }\n`;
// inOrderFor: [] because headless Chromium calls itself HeadlessChrome, which counts as a bot.
await writeFile(path.join(manifests, 'in-order.yaml'), `route: /in-order/:page\n${recs('')}`);
await writeFile(path.join(manifests, 'out-of-order.yaml'), `route: /out-of-order/:page\ninOrderFor: []\n${recs(', placement: out-of-order')}`);
await writeFile(
  path.join(manifests, 'sized.yaml'),
  `route: /sized/:page\ninOrderFor: []\n${recs(`, placement: out-of-order, placeholder: '<div style="height:${RECS_HEIGHT}px"></div>'`)}`,
);
const dev = await startDevServer({ origin: originUrl, manifests, port: await freePort(), demo: false, io: quietIo(process.cwd()).io });

interface Sample {
  footerMs: number;
  loadMs: number;
  cls: number;
}

async function measure(browser: Browser, url: string): Promise<Sample> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await page.addInitScript(() => {
    const metrics = { footer: -1, cls: 0 };
    (window as unknown as { metrics: typeof metrics }).metrics = metrics;
    new MutationObserver(() => {
      if (metrics.footer < 0 && document.querySelector('footer')) metrics.footer = performance.now();
    }).observe(document, { childList: true, subtree: true });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as Array<PerformanceEntry & { value: number; hadRecentInput: boolean }>)
        if (!entry.hadRecentInput) metrics.cls += entry.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(200); // Layout shifts are reported after the frame that caused them.
  const sample = await page.evaluate(() => {
    const { metrics } = window as unknown as { metrics: { footer: number; cls: number } };
    const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return { footerMs: metrics.footer, loadMs: navigation.loadEventStart, cls: metrics.cls };
  });
  await page.close();
  return sample;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const variants = [
  { name: 'in order', path: '/in-order/boots', patching: 'native' },
  { name: 'out of order, empty placeholder', path: '/out-of-order/boots', patching: 'native' },
  { name: 'out of order, sized placeholder', path: '/sized/boots', patching: 'native' },
  { name: 'out of order, sized, fallback script', path: '/sized/boots', patching: 'script' },
] as const;

const browsers = {
  native: await launchChromium(),
  script: await launchChromium(['--disable-blink-features=DocumentPatching']),
};
const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
try {
  for (const v of variants) await measure(browsers[v.patching], `${dev.url}${v.path}`); // Warm-up.
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) samples.get(v.name)?.push(await measure(browsers[v.patching], `${dev.url}${v.path}`));
  }
} finally {
  await browsers.native.close();
  await browsers.script.close();
  await dev.close();
  origin.close();
  await rm(manifests, { recursive: true, force: true });
}

const rows = variants.map((v) => {
  const s = samples.get(v.name) ?? [];
  return { name: v.name, footer: median(s.map((x) => x.footerMs)), load: median(s.map((x) => x.loadMs)), cls: median(s.map((x) => x.cls)) };
});
const base = rows[0];
console.log(`\nOut-of-order placement in Chromium: recommendations ${RECS_MS} ms near the top, footer below (${ROUNDS} rounds, medians)\n`);
console.log('| page | footer in DOM | ÷ in order | load event | ÷ in order | CLS |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(
    `| ${row.name} | ${row.footer.toFixed(0)} ms | ${(row.footer / base.footer).toFixed(2)} | ${row.load.toFixed(0)} ms | ${(row.load / base.load).toFixed(2)} | ${row.cls.toFixed(3)} |`,
  );
}
