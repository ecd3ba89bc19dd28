/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { CHROMIUM, chromiumPresent, launchChromium } from '../../tools/debian-chromium';
import { freePort, quietIo } from '../../tools/local-server';

/**
 * The debug view in a real browser: Debian's Chromium through playwright-core
 * (never a browser a tool downloads), opening the demo as `npm run dev` serves
 * it. Its screenshot goes to a temporary directory: a test never writes a
 * tracked file. `UPDATE_SCREENSHOT=1` writes the README's
 * `docs/debug-view.png` instead, refreshed by hand when the view changes.
 */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? path.resolve(import.meta.dirname, '../../docs/debug-view.png')
    : path.join(mkdtempSync(path.join(tmpdir(), 'tessera-debug-view-')), 'debug-view.png');
if (!chromiumPresent) console.warn(`debug view browser test SKIPPED: no browser at ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!chromiumPresent)('the debug view in Chromium', () => {
  let dev: DevServer;
  let browser: Browser;
  beforeAll(async () => {
    dev = await startDevServer({ manifests: 'manifests', port: await freePort(), demo: true, io: quietIo(process.cwd()).io });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await dev?.close();
  });

  it('outlines and labels every fragment, lists them in the panel, and leaves the page as it was', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // A first visit warms the isolate and the fragment cache, so both visits below see the same fragments.
    await page.goto(`${dev.url}/products/42`);
    await page.goto(`${dev.url}/products/42`);
    const plain = await page.evaluate(() => ({
      // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what must not change
      text: document.body.innerText,
      main: JSON.stringify(document.querySelector('main')?.getBoundingClientRect()),
      font: getComputedStyle(document.body).font,
    }));

    await page.goto(`${dev.url}/products/42?tessera-debug`);
    await page.waitForFunction(() => document.querySelector('tessera-debug')?.shadowRoot?.querySelector('.panel'));
    const seen = await page.evaluate(() => {
      const root = document.querySelector('tessera-debug')?.shadowRoot;
      const boxes = [...(root?.querySelectorAll<HTMLElement>('.box') ?? [])].map((b) => [b.dataset.fragment, b.dataset.label]);
      return {
        boxes: Object.fromEntries(boxes),
        rows: [...(root?.querySelectorAll('.row .name') ?? [])].map((n) => n.textContent),
        // biome-ignore lint/performance/useDomNodeTextContent: the text as rendered is what must not change
        text: document.body.innerText,
        main: JSON.stringify(document.querySelector('main')?.getBoundingClientRect()),
        font: getComputedStyle(document.body).font,
      };
    });
    expect(seen.boxes).toMatchObject({
      header: expect.stringMatching(/^(src|cache hit)$/),
      description: expect.stringMatching(/^(src|cache hit)$/),
      price: 'src',
      comments: 'fallback html (error)',
      stock: 'keep (timeout)',
      '/fragments/footer': expect.stringMatching(/^(src|cache hit)$/),
      '/fragments/newsletter': expect.stringMatching(/^(src|cache hit)$/),
    });
    expect(seen.rows).toEqual(expect.arrayContaining(['origin', 'header', 'description', 'price', 'recs', 'comments', 'stock']));
    // The page itself: same text, same layout, same styles.
    expect(seen.text).toBe(plain.text);
    expect(seen.main).toBe(plain.main);
    expect(seen.font).toBe(plain.font);
    // The waterfall has a time axis from 0, and a fragment's row opens on what was asked where and what came back.
    const panel = await page.evaluate(() => {
      const root = document.querySelector('tessera-debug')?.shadowRoot;
      const price = [...(root?.querySelectorAll<HTMLDetailsElement>('details.fragment') ?? [])].find((d) => d.querySelector('.name')?.textContent === 'price');
      if (price) price.open = true;
      return { ticks: [...(root?.querySelectorAll('.axis .tick') ?? [])].map((t) => t.textContent), price: price?.querySelector('dl')?.textContent };
    });
    expect(panel.ticks.length).toBeGreaterThanOrEqual(4);
    expect(panel.ticks[0]).toBe('0');
    expect(panel.price).toMatch(
      /^resultsrcurl.*\/fragments\/price\/42\?cur=EUR → 200bytes\d+ Bcachenot cached: no ttlassetsstylesheet \/assets\/price\.css · from the manifest · placedplacementin ordertiming/,
    );
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  }, 60_000);
});
