/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../cli/dev/dev-server';
import { CHROMIUM, chromiumPresent, launchChromium } from '../../tools/debian-chromium';
import { freePort, quietIo } from '../../tools/local-server';

/**
 * Out-of-order pages in Debian's Chromium: for a corpus of awkward pages the
 * final DOM must equal the in-order page's, with the browser's own
 * `<template for>` patching and with the fallback script doing it (native
 * patching switched off; and processing instructions too, as in browsers that
 * read `<?start>` as a comment). One page carries `<template for>` elements of
 * its own, guessing the placeholders' names (`data-spoof` tells them apart).
 */
if (!chromiumPresent) console.warn(`out-of-order browser test SKIPPED: no browser at ${CHROMIUM} (apt-get install chromium)`);

const BROWSERS = [
  { name: 'natively', flags: [] as string[], native: true },
  { name: 'with the fallback script', flags: ['--disable-blink-features=DocumentPatching'], native: false },
  {
    name: 'with the fallback script, placeholders read as comments',
    flags: ['--disable-blink-features=DocumentPatching,HTMLProcessingInstruction'],
    native: false,
  },
];

/** A template of the page's own, naming what might be one of the gateway's placeholders. */
const spoof = (name: string) => `<template for="${name}" data-spoof>EVIL</template>`;

/** A page arrives in these chunks, a pause between them: fragments settle while the origin is inside each construct. */
const PAUSE_MS = 300;
const CORPUS: Record<string, string[]> = {
  tables: [
    '<!doctype html><html><head><title>Tables</title></head><body><header>H</header><esi:include src="/f/recs?ms=180"/>' +
      '<table><thead><tr><th>Name</th></tr></thead><tbody><tr><td><esi:include src="/f/cell?ms=150"/></td><td>two',
    '</td></tr><tr><td>3</td><td>4</td></tr></tbody></table><p>after</p><footer>F</footer></body></html>',
  ],
  selects: [
    '<!doctype html><html><body><esi:include src="/f/recs?ms=150"/><form><select name="s"><option>1',
    '</option><option selected>2</option></select></form><footer>F</footer></body></html>',
  ],
  scripts: [
    '<!doctype html><html><body><esi:include src="/f/recs?ms=150"/><div><esi:include src="/f/counter?ms=150"/></div><script>window.x = "',
    'ran";document.body.dataset.x = window.x;</script><style>p { color: rgb(1, 2, 3) }</style><footer>F</footer></body></html>',
  ],
  svg: [
    '<!doctype html><html><body><esi:include src="/f/recs?ms=150"/><svg width="10" height="10" viewBox="0 0 10 10"><g>',
    '<circle r="1"></circle><foreignObject><div>in svg</div></foreignObject></g></svg><footer>F</footer></body></html>',
  ],
  comments: ['<!doctype html><html><body><esi:include src="/f/recs?ms=150"/><!-- a comment that', ' goes on --><p>text</p><footer>F</footer></body></html>'],
  paragraphs: [
    '<!doctype html><html><body><p>Price: <esi:include src="/f/price?ms=150"/> today</p><ul><li>a <esi:include src="/f/badge?ms=180"/></li><li>b',
    '</ul><h1>Title <esi:include src="/f/recs?ms=120"/></h1><footer>F</footer></body></html>',
  ],
  spoofed: [
    `<!doctype html><html><body>${spoof('tessera-1')}<div><esi:include src="/f/recs?ms=150"/>${spoof('tessera-1')}${spoof('tessera-2')}` +
      `<p>between</p><esi:include src="/f/badge?ms=150"/>${spoof('tessera-0000000000000-1')}${spoof('tessera-2')}`,
    `<p>after</p>${spoof('tessera-1')}</div><footer>F</footer></body></html>`,
  ],
  slots: [
    '<!doctype html><html><body><div data-slot="recs">Loading…</div><esi:include src="/f/outer?ms=150"/>' +
      '<div data-slot="broken">kept</div><esi:include src="/f/missing?ms=40&status=500" onerror="continue"/><p>end</p>',
    '<footer>F</footer></body></html>',
  ],
};

/** What a fragment is: an element naming it, or (outer) one holding an include of its own. */
function fragment(name: string): { body: string; headers: Record<string, string> } {
  if (name === 'outer') return { body: '<section>outer <esi:include src="/f/inner?ms=30"/></section>', headers: { 'surrogate-control': 'content="ESI/1.0"' } };
  if (name === 'price') return { body: '<b>€10</b>', headers: {} };
  // A fragment with a script of its own, which must run once whichever way it is placed.
  if (name === 'counter') return { body: '<i>counted</i><script>window.fragmentRuns = (window.fragmentRuns ?? 0) + 1</script>', headers: {} };
  return { body: `<span class="${name}">${name}</span>`, headers: {} };
}

async function startCorpusOrigin() {
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://corpus');
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    if (url.pathname.startsWith('/f/')) {
      await wait(Number(url.searchParams.get('ms') ?? 0));
      const status = Number(url.searchParams.get('status') ?? 200);
      const { body, headers } = fragment(url.pathname.slice(3));
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      return res.end(status === 200 ? body : 'broken');
    }
    // /in-order/NAME and /out-of-order/NAME are the same page.
    const [, , name] = url.pathname.split('/');
    const chunks = CORPUS[name];
    if (url.pathname === '/favicon.ico') {
      // Chromium asks for it after the load event; a 404 would show as a console error.
      res.writeHead(204);
      return res.end();
    }
    if (!chunks) {
      res.writeHead(404);
      return res.end();
    }
    const csp = url.searchParams.get('csp');
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'surrogate-control': 'content="ESI/1.0"',
      ...(csp ? { 'content-security-policy': csp } : {}),
    });
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) await wait(PAUSE_MS);
      res.write(chunk);
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const FRAGMENTS = `
defaults: { timeout: 2s }
fragments:
  recs: { src: /f/recs?ms=160 }
  broken: { src: /f/broken?ms=20&status=500, fallback: keep }
`;

/**
 * The document as a string to compare: elements, attributes, text and
 * comments; template contents included. Our fallback script, and the
 * placeholders of fragments that kept the marker's content, are left out.
 */
function serializeDocument(): string {
  const escapeText = (text: string) => text.replace(/[<&]/g, (c) => (c === '<' ? '&lt;' : '&amp;'));
  const ours = (node: Element) => node.localName === 'script' && (node.textContent ?? '').includes('querySelectorAll("template[for^=');
  const serialize = (node: Node): string => {
    if (node.nodeType === Node.TEXT_NODE) return escapeText((node as Text).data);
    if (node.nodeType === Node.COMMENT_NODE) return (node as Comment).data.startsWith('?') ? '' : `<!--${(node as Comment).data}-->`;
    if (node.nodeType !== Node.ELEMENT_NODE || ours(node as Element)) return '';
    const element = node as Element;
    const attributes = [...element.attributes].map((a) => ` ${a.name}="${escapeText(a.value)}"`).join('');
    const children = element instanceof HTMLTemplateElement ? element.content.childNodes : element.childNodes;
    return `<${element.namespaceURI === 'http://www.w3.org/1999/xhtml' ? '' : `${element.namespaceURI}:`}${element.localName}${attributes}>${[...children].map(serialize).join('')}</${element.localName}>`;
  };
  return serialize(document.documentElement);
}

describe.skipIf(!chromiumPresent)('out-of-order pages in Chromium', () => {
  let origin: Awaited<ReturnType<typeof startCorpusOrigin>>;
  let dev: DevServer;
  let manifests: string;
  /** One Chromium per way of patching (Blink features are switched per process, not per context), launched together. */
  const browsers = new Map<string, Browser>();

  beforeAll(async () => {
    origin = await startCorpusOrigin();
    manifests = await mkdtemp(path.join(tmpdir(), 'tessera-ooo-'));
    await writeFile(path.join(manifests, 'in-order.yaml'), `route: /in-order/:page\n${FRAGMENTS}`);
    // inOrderFor: [] because headless Chromium calls itself HeadlessChrome, which counts as a bot.
    await writeFile(path.join(manifests, 'out-of-order.yaml'), `route: /out-of-order/:page\nplacement: out-of-order\ninOrderFor: []\n${FRAGMENTS}`);
    const launched = Promise.all(BROWSERS.map(async ({ name, flags }) => browsers.set(name, await launchChromium(flags))));
    dev = await startDevServer({ origin: origin.url, manifests, port: await freePort(), demo: false, io: quietIo(process.cwd()).io });
    await launched;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...browsers.values()].map((browser) => browser.close()));
    await dev?.close();
    await origin?.close();
    if (manifests) await rm(manifests, { recursive: true, force: true });
  });

  it('sends templates for the corpus, so the comparison below is not in order against in order', async () => {
    for (const name of Object.keys(CORPUS)) {
      const body = await (await fetch(`${dev.url}/out-of-order/${name}`)).text();
      expect(body, name).toMatch(/<template for="tessera-[0-9a-z]{13}-1">/);
    }
  });

  for (const { name, native } of BROWSERS) {
    describe(name, () => {
      /** The final DOM of a page, and any CSP violation or script error on the way. */
      async function finalDom(url: string) {
        const browser = browsers.get(name);
        if (!browser) throw new Error(`no Chromium ${name}`);
        const page = await browser.newPage();
        // Templates the browser did not apply itself enter the DOM (and the fallback script applies them).
        await page.addInitScript(() => {
          (window as unknown as { templatesInDom: number }).templatesInDom = 0;
          new MutationObserver((records) => {
            for (const record of records)
              for (const node of record.addedNodes)
                if (node instanceof HTMLTemplateElement && node.hasAttribute('for') && !node.hasAttribute('data-spoof'))
                  (window as unknown as { templatesInDom: number }).templatesInDom++;
          }).observe(document, { childList: true, subtree: true });
        });
        const problems: string[] = [];
        page.on('pageerror', (error) => problems.push(error.message));
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        await page.goto(url, { waitUntil: 'load' });
        const dom = await page.evaluate(serializeDocument);
        const patchesNatively = await page.evaluate(() => 'htmlFor' in HTMLTemplateElement.prototype);
        const templatesInDom = await page.evaluate(() => (window as unknown as { templatesInDom: number }).templatesInDom);
        const fragmentRuns = await page.evaluate(() => (window as unknown as { fragmentRuns?: number }).fragmentRuns ?? 0);
        await page.close();
        return { dom, problems, patchesNatively, templatesInDom, fragmentRuns };
      }

      it(`ends with the same DOM as the in-order page, for every page of the corpus`, async () => {
        let appliedByScript = 0;
        for (const page of Object.keys(CORPUS)) {
          const inOrder = await finalDom(`${dev.url}/in-order/${page}`);
          const outOfOrder = await finalDom(`${dev.url}/out-of-order/${page}`);
          expect(outOfOrder.patchesNatively).toBe(native);
          expect(outOfOrder.dom, page).toBe(inOrder.dom);
          expect(outOfOrder.fragmentRuns, page).toBe(page === 'scripts' ? 1 : 0);
          expect(inOrder.fragmentRuns, page).toBe(outOfOrder.fragmentRuns);
          expect(outOfOrder.problems, page).toEqual([]);
          // Natively, every template lands where the browser applies it: the script has nothing to do.
          if (native) expect(outOfOrder.templatesInDom, page).toBe(0);
          else appliedByScript += outOfOrder.templatesInDom;
        }
        if (!native) expect(appliedByScript).toBeGreaterThan(0);
      }, 90_000);

      it("ends with the real fragments on a page whose own templates guess the placeholders' names", async () => {
        const { dom, problems } = await finalDom(`${dev.url}/out-of-order/spoofed`);
        expect(dom).toContain('<div><span class="recs">recs</span>');
        expect(dom).toContain('<p>between</p><span class="badge">badge</span>');
        // Every spoof is still an inert template, as in the in-order page: none was applied, none removed.
        expect(dom.match(/<template for="[^"]*" data-spoof="">EVIL<\/template>/g)).toHaveLength(6);
        expect(dom.replaceAll(/<template[^>]*>EVIL<\/template>/g, '')).not.toContain('EVIL');
        expect(problems).toEqual([]);
      }, 30_000);

      it('runs the fallback under a CSP nonce, and falls back to in order under a CSP with no way in', async () => {
        const nonce = encodeURIComponent("script-src 'nonce-abc123' 'unsafe-eval'");
        const inOrder = await finalDom(`${dev.url}/in-order/tables`);
        const withNonce = await finalDom(`${dev.url}/out-of-order/tables?csp=${nonce}`);
        expect(withNonce.dom).toBe(inOrder.dom);
        expect(withNonce.problems).toEqual([]);
        const strict = encodeURIComponent("script-src 'self'");
        const body = await (await fetch(`${dev.url}/out-of-order/tables?csp=${strict}`)).text();
        expect(body).not.toContain('<template for=');
        const refused = await finalDom(`${dev.url}/out-of-order/tables?csp=${strict}`);
        expect(refused.dom).toBe(inOrder.dom);
      }, 60_000);
    });
  }
});
