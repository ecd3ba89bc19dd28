import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { CHROMIUM, chromiumPresent, launchChromium } from '../../tools/debian-chromium';
import { freePort, quietIo } from '../../tools/local-server';

/**
 * Issue 23 in Debian's Chromium, on the demo product page as `npm run dev`
 * serves it: its fragments' stylesheets and scripts (the header's and the
 * footer's shared chrome.css, the price's declared price.css, the
 * recommendations' recs.css and recs.js) are each requested once; the
 * stylesheets' requests start from the page's Link header, before their
 * fragments arrive; and no fragment is ever painted without its styles,
 * in order or out of order, with Chromium's own `<template for>` patching
 * and with the fallback script.
 */
if (!chromiumPresent) console.warn(`fragment assets browser test SKIPPED: no browser at ${CHROMIUM} (apt-get install chromium)`);

/** Each fragment of the page, and a style its stylesheet gives it (as getComputedStyle reports it). */
const STYLED = [
  { fragment: 'header', selector: 'header.site', property: 'background-color', value: 'rgb(29, 59, 83)' },
  { fragment: 'footer', selector: 'footer.site', property: 'background-color', value: 'rgb(29, 59, 83)' },
  { fragment: 'price', selector: '.price strong', property: 'color', value: 'rgb(179, 38, 30)' },
  { fragment: 'recs', selector: '.recs li', property: 'border-bottom-style', value: 'solid' },
];

/**
 * Runs in the page from its first byte: at every animation frame (just before
 * each paint), each fragment element that is in the document and what its
 * style is then; and the time the recommendations entered the document.
 */
const WATCH = `
window.__frames = [];
const styled = ${JSON.stringify(STYLED)};
const frame = () => {
  for (const s of styled) {
    const el = document.querySelector(s.selector);
    if (el && !window.__frames.some((f) => f.fragment === s.fragment)) {
      window.__frames.push({ fragment: s.fragment, at: performance.now(), value: getComputedStyle(el).getPropertyValue(s.property) });
    }
  }
  requestAnimationFrame(frame);
};
requestAnimationFrame(frame);
new MutationObserver(() => {
  if (window.__recsAt === undefined && document.querySelector('.recs')) window.__recsAt = performance.now();
}).observe(document, { childList: true, subtree: true });
`;

interface Seen {
  frames: Array<{ fragment: string; at: number; value: string }>;
  recsAt: number;
  responseStart: number;
  resources: Array<{ name: string; startTime: number }>;
  seenScript: boolean;
}

describe.skipIf(!chromiumPresent)('fragment assets in Chromium', () => {
  let dev: DevServer;
  const browsers: Browser[] = [];
  beforeAll(async () => {
    dev = await startDevServer({ manifests: 'manifests', port: await freePort(), demo: true, io: quietIo(process.cwd()).io });
    browsers.push(await launchChromium(), await launchChromium(['--disable-blink-features=DocumentPatching']));
    // A first view: the route learns its fragments' assets (Link headers and markup) for the Link header of the next.
    const warm = await browsers[0].newPage();
    await warm.goto(`${dev.url}/products/42`, { waitUntil: 'load' });
    await warm.close();
  }, 90_000);
  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await dev?.close();
  });

  for (const [index, how] of ['natively', 'with the fallback script'].entries()) {
    it(`requests each asset once, from the Link header before its fragment arrives, and never paints a fragment unstyled (${how})`, async () => {
      // A context of its own: an empty HTTP cache, so every asset is requested and counted.
      const context = await browsers[index].newContext({ viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      await page.addInitScript({ content: WATCH });
      const requested: string[] = [];
      page.on('request', (request) => requested.push(new URL(request.url()).pathname));
      // A product the first view did not show: its recommendations are not cached, so they arrive late, out of order.
      const response = await page.goto(`${dev.url}/products/${['7', '3'][index]}`, { waitUntil: 'load' });
      await page.waitForFunction('document.querySelector(".recs li[data-seen]") !== null');
      const seen = (await page.evaluate(`({
        frames: window.__frames,
        recsAt: window.__recsAt,
        responseStart: performance.getEntriesByType('navigation')[0].responseStart,
        resources: performance.getEntriesByType('resource').map((r) => ({ name: new URL(r.name).pathname, startTime: r.startTime })),
        seenScript: document.querySelector('.recs li[data-seen]') !== null,
      })`)) as Seen;
      await context.close();

      const link = response?.headers().link ?? '';
      for (const asset of ['/assets/chrome.css', '/assets/price.css', '/assets/recs.css', '/assets/recs.js']) {
        expect(link, `the page's Link header announces ${asset}`).toContain(`<${asset}>`);
        expect(
          requested.filter((p) => p === asset),
          `${asset} is requested once`,
        ).toHaveLength(1);
      }
      // From the Link header: the recommendations' stylesheet is on its way long before the fragment (700 ms) arrives.
      const recsCss = seen.resources.find((r) => r.name === '/assets/recs.css');
      expect(recsCss?.startTime).toBeLessThan(seen.responseStart + 100);
      expect(recsCss?.startTime).toBeLessThan(seen.recsAt);
      // Every fragment, the first time a frame could paint it, already has its stylesheet's style.
      for (const { fragment, value } of STYLED) {
        const frame = seen.frames.find((f) => f.fragment === fragment);
        expect(frame?.value, `${fragment} at its first frame`).toBe(value);
      }
      expect(seen.seenScript).toBe(true);
      console.log(
        `fragment assets (${how}): recs.css requested at ${recsCss?.startTime.toFixed(0)} ms, response headers at ${seen.responseStart.toFixed(0)} ms, recommendations in the document at ${seen.recsAt.toFixed(0)} ms`,
      );
    });
  }
});
