/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { CHROMIUM, chromiumPresent, launchChromium } from '../../tools/debian-chromium';
import { freePort, quietIo } from '../../tools/local-server';

/**
 * The debug view on a page that moves: a tall page whose sticky header
 * collapses (with a transition) once it scrolls, and a fixed sidebar holding
 * a fragment. The outlines must follow the fragments wherever layout takes
 * them, the panel must close, minimise and reopen (and remember it), and it
 * must fit a narrow viewport. Debian's Chromium, as in debug-view.browser.test.ts.
 */
if (!chromiumPresent) console.warn(`debug view layout browser test SKIPPED: no browser at ${CHROMIUM} (apt-get install chromium)`);

const PAGE = `<!doctype html><html><head><meta name="viewport" content="width=device-width"><title>Scrolls</title><style>
  body { margin: 0; font: 16px/1.4 sans-serif; }
  header { position: sticky; top: 0; height: 120px; background: #eef; transition: height 150ms; z-index: 1; overflow: hidden; }
  header.small { height: 60px; }
  aside { position: fixed; left: 0; top: 160px; width: 150px; }
  main { margin-left: 170px; }
  .frag { min-height: 40px; background: #fee; }
</style></head><body>
<header><div data-slot="banner">banner</div></header>
<aside><div data-slot="side">side</div></aside>
<main><p>Intro</p><div data-slot="lead">lead</div><div style="height: 3000px"></div><div data-slot="foot">foot</div></main>
<script>addEventListener('scroll', () => document.querySelector('header').classList.toggle('small', scrollY > 40), { passive: true });</script>
</body></html>`;

const FRAGMENTS = ['banner', 'side', 'lead', 'foot'];

describe.skipIf(!chromiumPresent)('the debug view on a page that scrolls', () => {
  let origin: Server;
  let dev: DevServer;
  let browser: Browser;
  let manifests: string;
  beforeAll(async () => {
    origin = createServer((req, res) => {
      const name = new URL(req.url ?? '/', 'http://origin').pathname.split('/').pop() ?? '';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(FRAGMENTS.includes(name) ? `<div class="frag" id="f-${name}">${name} from its fragment service, at a URL long enough to wrap</div>` : PAGE);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    manifests = await mkdtemp(path.join(tmpdir(), 'tessera-debug-layout-'));
    const fragments = FRAGMENTS.map(
      (name) => `  ${name}:\n    src: /fragments/${name}?with=a-rather-long-query-string-that-has-no-spaces-to-break-at-anywhere-at-all\n`,
    ).join('');
    await writeFile(path.join(manifests, 'scrolls.yaml'), `route: /scrolls\nfragments:\n${fragments}`);
    const { port } = origin.address() as AddressInfo;
    dev = await startDevServer({ origin: `http://127.0.0.1:${port}`, manifests, port: await freePort(), demo: false, io: quietIo(process.cwd()).io });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await dev?.close();
    await new Promise((resolve) => origin?.close(resolve));
    if (manifests) await rm(manifests, { recursive: true, force: true });
  });

  const open = async (page: Page, query = '') => {
    await page.goto(`${dev.url}/scrolls?tessera-debug${query}`);
    await page.waitForFunction(() => document.querySelector('tessera-debug')?.shadowRoot?.querySelector('.panel'));
  };
  /** Lets layout and the overlay settle: the header's transition, then two animation frames. */
  const settle = (page: Page) =>
    page.evaluate(() => new Promise((resolve) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(resolve)), 300)));
  /** Each outline's box against its fragment element's, as [fragment, largest difference in px]. */
  const drift = (page: Page) =>
    page.evaluate(() => {
      const root = document.querySelector('tessera-debug')?.shadowRoot;
      return [...(root?.querySelectorAll<HTMLElement>('.box') ?? [])].map((box) => {
        const element = document.getElementById(`f-${box.dataset.fragment}`);
        if (!element) return [box.dataset.fragment, Number.POSITIVE_INFINITY] as const;
        const want = element.getBoundingClientRect();
        const got = box.getBoundingClientRect();
        return [box.dataset.fragment, Math.max(...(['left', 'top', 'width', 'height'] as const).map((side) => Math.abs(want[side] - got[side])))] as const;
      });
    });

  it('keeps every outline on its fragment after the page scrolls and its sticky header collapses, the fixed sidebar included', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await open(page);
    await settle(page);
    expect((await drift(page)).map(([name]) => name).sort()).toEqual([...FRAGMENTS].sort());
    expect((await drift(page)).filter(([, px]) => px > 2)).toEqual([]);

    const before = await page.evaluate(() => (document.getElementById('f-lead')?.getBoundingClientRect().top ?? 0) + scrollY);
    await page.mouse.wheel(0, 600);
    await page.waitForFunction(() => scrollY > 400 && document.querySelector('header')?.classList.contains('small'));
    await settle(page);
    const after = await page.evaluate(() => ({
      header: document.querySelector('header')?.getBoundingClientRect().height,
      lead: (document.getElementById('f-lead')?.getBoundingClientRect().top ?? 0) + scrollY,
      side: document.getElementById('f-side')?.getBoundingClientRect().top,
    }));
    // The page did move: the header collapsed, so the lead fragment sits 60 px higher in the document; the sidebar stayed.
    expect(after.header).toBe(60);
    expect(before - after.lead).toBe(60);
    expect(after.side).toBe(160);
    expect((await drift(page)).filter(([, px]) => px > 2)).toEqual([]);

    // A scroll inside the page's own scripts (no wheel), then back to the top, where the header grows again.
    await page.evaluate(() => window.scrollTo(0, 2900));
    await settle(page);
    expect((await drift(page)).filter(([, px]) => px > 2)).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await settle(page);
    expect((await drift(page)).filter(([, px]) => px > 2)).toEqual([]);
    // A resize moves them too.
    await page.setViewportSize({ width: 900, height: 700 });
    await settle(page);
    expect((await drift(page)).filter(([, px]) => px > 2)).toEqual([]);
    await page.close();
  }, 60_000);

  it('closes, reopens and minimises its panel, and remembers which for the tab', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await open(page);
    const shown = () =>
      page.evaluate(() => {
        const root = document.querySelector('tessera-debug')?.shadowRoot;
        const visible = (selector: string) => {
          const element = root?.querySelector<HTMLElement>(selector);
          return !!element && element.getBoundingClientRect().height > 0;
        };
        return { panel: visible('.panel'), body: visible('.panel .body'), reopen: visible('button.open') };
      });
    expect(await shown()).toEqual({ panel: true, body: true, reopen: false });
    await page.locator('tessera-debug button.close').click();
    expect(await shown()).toEqual({ panel: false, body: false, reopen: true });
    // Closed stays closed on the next page of the tab; the outlines stay.
    await open(page);
    expect(await shown()).toEqual({ panel: false, body: false, reopen: true });
    expect(await page.evaluate(() => document.querySelector('tessera-debug')?.shadowRoot?.querySelectorAll('.box').length)).toBe(FRAGMENTS.length);
    await page.locator('tessera-debug button.open').click();
    expect(await shown()).toEqual({ panel: true, body: true, reopen: false });
    await page.locator('tessera-debug button.minimise').click();
    expect(await shown()).toEqual({ panel: true, body: false, reopen: false });
    await open(page);
    expect(await shown()).toEqual({ panel: true, body: false, reopen: false });
    await page.locator('tessera-debug button.minimise').click();
    expect(await shown()).toEqual({ panel: true, body: true, reopen: false });
    // The outlines can be switched off too.
    await page.locator('tessera-debug button.outlines').click();
    expect(
      await page.evaluate(() => document.querySelector('tessera-debug')?.shadowRoot?.querySelector<HTMLElement>('.box')?.getBoundingClientRect().width),
    ).toBe(0);
    await page.close();
  }, 60_000);

  it('fits a 420 px viewport: nothing in the panel runs past its edge, fragment details and notes included', async () => {
    const page = await browser.newPage({ viewport: { width: 420, height: 800 } });
    await open(page, '&tessera-fault=sid:timeout');
    await page.evaluate(() => {
      for (const details of document.querySelector('tessera-debug')?.shadowRoot?.querySelectorAll('details') ?? []) details.open = true;
    });
    const fit = await page.evaluate(() => {
      const root = document.querySelector('tessera-debug')?.shadowRoot;
      const panel = root?.querySelector<HTMLElement>('.panel');
      const body = root?.querySelector<HTMLElement>('.panel .body');
      const rect = panel?.getBoundingClientRect();
      const past = [...(root?.querySelectorAll<HTMLElement>('.panel *') ?? [])].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5);
      });
      return {
        left: rect?.left,
        right: rect?.right,
        bodyOverflow: (body?.scrollWidth ?? 0) - (body?.clientWidth ?? 0),
        past: past.map((e) => e.className || e.tagName),
        note: root?.querySelector('.note')?.textContent,
      };
    });
    expect(fit.left).toBeGreaterThanOrEqual(0);
    expect(fit.right).toBeLessThanOrEqual(420);
    expect(fit.bodyOverflow).toBeLessThanOrEqual(0);
    expect(fit.past).toEqual([]);
    expect(fit.note).toBe('tessera-fault "sid:timeout": no fragment "sid" on this route (did you mean "side"?)');
    await page.close();
  }, 60_000);
});
