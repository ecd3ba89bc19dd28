/// <reference lib="dom" />
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
 * ESI variables in Debian's Chromium, through the real gateway: the ordinary
 * ways a page puts a visitor's value in markup, each loaded with values meant
 * to run script. No dialog may open and `window.__pwned` must stay unset;
 * benign values must still read as written.
 */
if (!chromiumPresent) console.warn(`ESI escaping browser test SKIPPED: no browser at ${CHROMIUM} (apt-get install chromium)`);

const SHOW = '<p id="out"></p><script>function show(v) { document.getElementById("out").textContent = v }</script>';
const PAGES: Record<string, string> = {
  unquoted: '<img id="img" src=/i/$(QUERY_STRING{x})>',
  onclick: `${SHOW}<button id="go" onclick="show('$(QUERY_STRING{x})')">go</button>`,
  script: `${SHOW}<script>show(JSON.stringify(['$(QUERY_STRING{a})', '$(QUERY_STRING{b})']))</script>`,
  href: '<a id="link" href="$(QUERY_STRING{x})">link</a>',
  style: '<p id="styled" style="color: $(QUERY_STRING{x})">styled</p>',
  comment: '<!-<esi:comment text="hides the comment from ESI, not from the browser"/>- $(QUERY_STRING{x}) --><p id="after">after</p>',
};

async function startEscapingOrigin() {
  const requested: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://escaping');
    requested.push(url.pathname);
    const body = PAGES[url.pathname.split('/')[2] ?? ''];
    if (!body) {
      res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'surrogate-control': 'content="ESI/1.0"' });
    res.end(`<!doctype html><html><head><title>escaping</title></head><body><esi:vars>${body}</esi:vars></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requested,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.skipIf(!chromiumPresent)('ESI variables in Chromium', () => {
  let origin: Awaited<ReturnType<typeof startEscapingOrigin>>;
  let dev: DevServer;
  let manifests: string;
  let browser: Browser;

  beforeAll(async () => {
    origin = await startEscapingOrigin();
    manifests = await mkdtemp(path.join(tmpdir(), 'tessera-escaping-'));
    await writeFile(path.join(manifests, 'escaping.yaml'), 'route: /esc/:page\nesi: on\n');
    dev = await startDevServer({ origin: origin.url, manifests, port: await freePort(), demo: false, io: quietIo(process.cwd()).io });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dev?.close();
    await origin?.close();
    if (manifests) await rm(manifests, { recursive: true, force: true });
  });

  /** The page loaded with `query`, `act` done in it; whether any script of the visitor's ran. */
  async function load(name: string, query: Record<string, string>, act: (page: Page) => Promise<void> = async () => {}) {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${dev.url}/esc/${name}?${new URLSearchParams(query)}`);
    await act(page);
    await page.waitForTimeout(50);
    const pwned = await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
    return { page, ran: dialogs.length > 0 || pwned !== undefined };
  }

  const RUN = 'alert(1),window.__pwned=1';

  it('Should keep an unquoted URL attribute one attribute', async () => {
    const hostile = await load('unquoted', { x: `a onerror=${RUN} x` });
    expect(hostile.ran).toBe(false);
    expect(await hostile.page.$eval('#img', (img) => img.getAttributeNames())).toEqual(['id', 'src']);
    await hostile.page.close();
    const benign = await load('unquoted', { x: 'cat.png' });
    expect(await benign.page.$eval('#img', (img) => img.getAttribute('src'))).toBe('/i/cat.png');
    await benign.page.close();
  });

  it('Should hand an onclick handler the value as data, quotes and references included', async () => {
    for (const x of [`');${RUN};('`, `&#39;);${RUN};(&#39;`, `\\');${RUN};//`, "O'Brien & <Co>"]) {
      const { page, ran } = await load('onclick', { x }, (p) => p.click('#go'));
      expect(ran, x).toBe(false);
      expect(await page.textContent('#out'), x).toBe(x);
      await page.close();
    }
  });

  it('Should keep two values in one script string apart', async () => {
    for (const [a, b] of [
      ['\\', `, ${RUN}, '`],
      ["'", `</script><script>${RUN}</script>`],
      ['\u2028', `\`\${${RUN}}\``],
      ['Ann', 'Bob'],
    ]) {
      const { page, ran } = await load('script', { a, b });
      expect(ran, `${a} ${b}`).toBe(false);
      expect(await page.textContent('#out'), `${a} ${b}`).toBe(JSON.stringify([a, b]));
      await page.close();
    }
  });

  it('Should not let a value start a link with javascript:', async () => {
    for (const x of [`javascript:${RUN}`, ` JavaScript:${RUN}`, `java\tscript:${RUN}`, `data:text/html,<script>${RUN}</script>`]) {
      const { page, ran } = await load('href', { x }, (p) => p.click('#link'));
      expect(ran, x).toBe(false);
      await page.close();
    }
    const benign = await load('href', { x: '/esc/style?x=red' });
    expect(await benign.page.$eval('#link', (a) => a.getAttribute('href'))).toBe('/esc/style?x=red');
    await benign.page.close();
  });

  it('Should let into a style attribute only a plain value', async () => {
    const hostile = await load('style', { x: `red;background-image:url(/pwned)" onmouseover="${RUN}` }, (p) => p.hover('#styled'));
    expect(hostile.ran).toBe(false);
    expect(await hostile.page.$eval('#styled', (p) => [p.getAttributeNames(), getComputedStyle(p).backgroundImage])).toEqual([['id', 'style'], 'none']);
    expect(origin.requested).not.toContain('/pwned');
    await hostile.page.close();
    const benign = await load('style', { x: '#f00' });
    expect(await benign.page.$eval('#styled', (p) => getComputedStyle(p).color)).toBe('rgb(255, 0, 0)');
    await benign.page.close();
  });

  it('Should keep a value inside the comment it lands in', async () => {
    const { page, ran } = await load('comment', { x: `--!><img src=x onerror=${RUN}>--><img src=x onerror=${RUN}>` });
    expect(ran).toBe(false);
    expect(await page.$$eval('img', (images) => images.length)).toBe(0);
    expect(await page.textContent('#after')).toBe('after');
    await page.close();
  });
});
