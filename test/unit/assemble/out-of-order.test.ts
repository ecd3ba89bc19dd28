import { describe, expect, it } from 'vitest';
import { patchScript } from '../../../gateway/assemble/patch-script';
import type { RouteManifest } from '../../../gateway/manifest/schema';
import { delay, esiPage, gate, gatewayFor, html, upstream } from '../harness';

/** An origin body the test writes chunk by chunk. */
function controlledBody() {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return { stream, push: (text: string) => controller.enqueue(encoder.encode(text)), close: () => controller.close() };
}

/** A response's placeholder prefix (`tessera-…-`), read from its first placeholder. */
function prefixOf(page: string): string {
  const prefix = /name="(tessera-[^"]*-)1"/.exec(page)?.[1];
  if (!prefix) throw new Error(`no placeholder in ${page}`);
  return prefix;
}

/** The page with its random placeholder prefix written `tessera-R-`, so the expectations can spell the names out. */
function named(page: string): string {
  return page.includes('name="tessera-') ? page.replaceAll(prefixOf(page), 'tessera-R-') : page;
}

/** Reads a response as it streams; what it has read, with the names written as `named` writes them. */
class StreamReader {
  private readonly decoder = new TextDecoder();
  private raw = '';
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  get text(): string {
    return named(this.raw);
  }

  /** Reads until `marker` has streamed. */
  async until(marker: string): Promise<string> {
    while (!this.text.includes(marker)) {
      const { done, value } = await this.reader.read();
      if (done) throw new Error(`the stream ended before ${marker}: ${this.text}`);
      this.raw += this.decoder.decode(value, { stream: true });
    }
    return this.text;
  }

  async rest(): Promise<string> {
    for (;;) {
      const { done, value } = await this.reader.read();
      if (done) return this.text;
      this.raw += this.decoder.decode(value, { stream: true });
    }
  }
}

const reading = (response: Response) => new StreamReader(response.body!.getReader());

/** A fragment (or page) that answers after `ms`. */
const answersAfter = (ms: number, respond: () => Response) => async () => {
  await delay(ms);
  return respond();
};

/** A fragment that answers when the test opens its gate. */
function slowFragment(markup: string) {
  const latch = gate();
  return {
    ...latch,
    handler: async () => {
      await latch.opened;
      return html(markup);
    },
  };
}

const OUT_OF_ORDER: Pick<RouteManifest, 'placement' | 'defaults'> = { placement: 'out-of-order', defaults: { timeout: '5s' } };

/** An out-of-order page the test writes chunk by chunk, and its recommendations behind a gate. */
async function streamedPage() {
  const recs = slowFragment('<ul>recs</ul>');
  const origin = controlledBody();
  const net = upstream({ '/page': () => esiPage(origin.stream), '/recs': recs.handler });
  const page = reading(await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page'));
  return { recs, origin, page };
}

/** The fallback script as `named` writes it. */
const SCRIPT = patchScript('tessera-R-');

/** The page (names written as `named` writes them) without the fallback script, which goes before the first template. */
const withoutScript = (page: string) => named(page).replace(`<script>${SCRIPT}</script>`, '');

describe('out-of-order placement', () => {
  it('streams the content after a slow out-of-order fragment before the fragment arrives', async () => {
    const recs = slowFragment('<ul>recs</ul>');
    const net = upstream({
      '/page': () => esiPage('<html><body><header>H</header><esi:include src="/recs"/><footer>F</footer></body></html>'),
      '/recs': recs.handler,
    });
    const page = reading(await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page'));
    const early = await page.until('<footer>F</footer>');
    expect(early).toBe('<html><body><header>H</header><?marker name="tessera-R-1"><footer>F</footer>');
    recs.open();
    expect(await page.rest()).toBe(
      `<html><body><header>H</header><?marker name="tessera-R-1"><footer>F</footer><script>${SCRIPT}</script><template for="tessera-R-1"><ul>recs</ul></template></body></html>`,
    );
  });

  it('renders a fragment that has already settled in place, with no placeholder and no script', async () => {
    const net = upstream({
      '/page': answersAfter(30, () => esiPage('<body><esi:include id="fast"/><footer>F</footer></body>')),
      '/fast': () => html('<b>fast</b>'),
    });
    // Declared, so fetched from the start: it is there before the page is.
    const body = await (await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER, fragments: { fast: { src: '/fast' } } })('/page')).text();
    expect(body).toBe('<body><b>fast</b><footer>F</footer></body>');
  });

  it('sends a template as soon as its fragment settles while the origin is still streaming', async () => {
    const { recs, origin, page } = await streamedPage();
    origin.push('<html><body><main><esi:include src="/recs"/><p>intro</p>');
    await page.until('<p>intro</p>');
    recs.open();
    // The origin is silent: only the pump's own flush point can bring the template out.
    expect(await page.until('</template>')).toContain('<p>intro</p><script>');
    origin.push('</main></body></html>');
    origin.close();
    expect(withoutScript(await page.rest())).toBe(
      '<html><body><main><?marker name="tessera-R-1"><p>intro</p><template for="tessera-R-1"><ul>recs</ul></template></main></body></html>',
    );
  });

  it('waits until the stream is back in an element that holds the placeholder, where browsers apply the template', async () => {
    const { recs, origin, page } = await streamedPage();
    origin.push('<body><div class="page"><header><esi:include src="/recs"/></header><main><p>one</p>');
    await page.until('<p>one</p>');
    recs.open();
    await delay(20);
    origin.push('<p>two</p></main>');
    // Inside <main> the template would be outside the header's ancestors; after </main> it is a child of div.page.
    await page.until('</template>');
    origin.push('<footer>F</footer></div></body>');
    origin.close();
    expect(withoutScript(await page.rest())).toBe(
      '<body><div class="page"><header><?marker name="tessera-R-1"></header><main><p>one</p><p>two</p></main><template for="tessera-R-1"><ul>recs</ul></template><footer>F</footer></div></body>',
    );
  });

  /**
   * A fragment that settles while the stream is inside each of these waits
   * for its end: a template there would be text, foreign content, table
   * content or inert. Flush points fall between origin chunks, so it goes
   * out at the end of the chunk that closes the construct.
   */
  const awkward: Array<{ context: string; open: string; close: string }> = [
    { context: 'a table', open: '<table><tr><td>cell', close: '</td></tr></table>' },
    { context: 'a table section', open: '<table><tbody><tr>', close: '<td>x</td></tr></tbody></table>' },
    { context: 'a select', open: '<select><option>a', close: '</option></select>' },
    { context: 'a script', open: '<script>var s = "', close: '";</script>' },
    { context: 'a style', open: '<style>p { color:', close: ' red }</style>' },
    { context: 'a textarea', open: '<textarea>draft', close: '</textarea>' },
    { context: 'a title', open: '<title>Shop', close: '</title>' },
    { context: 'inline SVG', open: '<svg viewBox="0 0 10 10"><g>', close: '<circle r="1"/></g></svg>' },
    { context: 'a comment', open: '<!-- note', close: ' -->' },
    { context: 'a template', open: '<template><p>', close: '</p></template>' },
  ];

  for (const { context, open, close } of awkward) {
    it(`holds a template that falls due inside ${context} until it has closed`, async () => {
      const { recs, origin, page } = await streamedPage();
      origin.push(`<html><body><main><esi:include src="/recs"/>${open}`);
      await page.until('<main>');
      recs.open();
      await delay(20); // The fragment settles, and the pump is told, while the origin is inside the construct.
      origin.push(`${close}<p>after</p>`);
      await page.until('</template>');
      origin.push('</main><footer>F</footer></body></html>');
      origin.close();
      const body = withoutScript(await page.rest());
      expect(body).toBe(
        `<html><body><main><?marker name="tessera-R-1">${open}${close}<p>after</p><template for="tessera-R-1"><ul>recs</ul></template></main><footer>F</footer></body></html>`,
      );
    });
  }

  it('puts a template that falls due inside an open tag before the tag, never into its attribute', async () => {
    const { recs, origin, page } = await streamedPage();
    origin.push('<body><main><esi:include src="/recs"/><div class="a');
    await page.until('<main>');
    recs.open();
    await page.until('</template>');
    origin.push(' b">x</div></main></body>');
    origin.close();
    expect(withoutScript(await page.rest())).toBe(
      '<body><main><?marker name="tessera-R-1"><template for="tessera-R-1"><ul>recs</ul></template><div class="a b">x</div></main></body>',
    );
  });

  it('places markers inside tables, selects and SVG in document order, and cells out of order', async () => {
    const fragments = Object.fromEntries(['row', 'cell', 'option', 'shape'].map((id) => [id, slowFragment(`<i>${id}</i>`)]));
    const net = upstream({
      '/page': () =>
        esiPage(
          '<body><table><esi:include src="/row"/><tr><td><esi:include src="/cell"/></td></tr></table>' +
            '<select><esi:include src="/option"/></select><svg><esi:include src="/shape"/></svg><footer>F</footer></body>',
        ),
      ...Object.fromEntries(Object.entries(fragments).map(([id, f]) => [`/${id}`, f.handler])),
    });
    const page = reading(await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page'));
    // The row waits in order: nothing after it streams until it arrives.
    await page.until('<body><table>');
    fragments.row.open();
    await page.until('<td><?marker name="tessera-R-1"></td>');
    fragments.option.open();
    fragments.shape.open();
    await page.until('<footer>F</footer>');
    fragments.cell.open();
    expect(withoutScript(await page.rest())).toBe(
      '<body><table><i>row</i><tr><td><?marker name="tessera-R-1"></td></tr></table><select><i>option</i></select><svg><i>shape</i></svg>' +
        '<footer>F</footer><template for="tessera-R-1"><i>cell</i></template></body>',
    );
  });
});

describe('what an out-of-order placeholder holds', () => {
  it("keeps a data-slot's own content as the placeholder, and leaves it when the fragment keeps it", async () => {
    const recs = slowFragment('<ul>recs</ul>');
    const net = upstream({
      '/page': () => html('<body><div data-slot="recs">Loading…</div><div data-slot="ads">No ads</div><footer>F</footer></body>'),
      '/recs': recs.handler,
      '/ads': answersAfter(30, () => new Response('down', { status: 500 })),
    });
    const manifest: RouteManifest = {
      route: '/page',
      ...OUT_OF_ORDER,
      fragments: { recs: { src: '/recs' }, ads: { src: '/ads', fallback: 'keep' } },
    };
    const page = reading(await gatewayFor(net, manifest)('/page'));
    await page.until('<footer>F</footer>');
    recs.open();
    expect(withoutScript(await page.rest())).toBe(
      '<body><div data-slot="recs"><?start name="tessera-R-1">Loading…<?end></div><div data-slot="ads"><?start name="tessera-R-2">No ads<?end></div>' +
        '<footer>F</footer><template for="tessera-R-1"><ul>recs</ul></template></body>',
    );
  });

  it('shows a declared placeholder, or else the fallback html, until the fragment arrives', async () => {
    const recs = slowFragment('<ul>recs</ul>');
    const news = slowFragment('<ol>news</ol>');
    const net = upstream({
      '/page': () =>
        html('<body><div data-slot="recs">Loading…</div><esi:include id="news"/><footer>F</footer></body>', { 'surrogate-control': 'content="ESI/1.0"' }),
      '/recs': recs.handler,
      '/news': news.handler,
    });
    const manifest: RouteManifest = {
      route: '/page',
      ...OUT_OF_ORDER,
      fragments: {
        recs: { src: '/recs', placeholder: '<div class="skeleton" style="height:200px"></div>' },
        news: { src: '/news', fallback: { html: '<p>No news</p>' } },
      },
    };
    const page = reading(await gatewayFor(net, manifest)('/page'));
    await page.until('<footer>F</footer>');
    recs.open();
    news.open();
    expect(withoutScript(await page.rest())).toBe(
      '<body><div data-slot="recs"><?start name="tessera-R-1"><div class="skeleton" style="height:200px"></div><?end></div>' +
        '<?start name="tessera-R-2"><p>No news</p><?end><footer>F</footer>' +
        '<template for="tessera-R-1"><ul>recs</ul></template><template for="tessera-R-2"><ol>news</ol></template></body>',
    );
  });

  it('sends a failed fragment’s fallback as its template', async () => {
    const net = upstream({
      '/page': () => esiPage('<body><esi:include id="recs"/><footer>F</footer></body>'),
      '/recs': answersAfter(30, () => new Response('broken', { status: 503 })),
    });
    const manifest: RouteManifest = { route: '/page', ...OUT_OF_ORDER, fragments: { recs: { src: '/recs', fallback: { html: '<p>Sorry</p>' } } } };
    expect(withoutScript(await (await gatewayFor(net, manifest)('/page')).text())).toBe(
      '<body><?start name="tessera-R-1"><p>Sorry</p><?end><footer>F</footer><template for="tessera-R-1"><p>Sorry</p></template></body>',
    );
  });

  it('fills the markers inside an out-of-order fragment before its template goes out', async () => {
    const net = upstream({
      '/page': () => esiPage('<body><esi:include src="/outer"/><footer>F</footer></body>'),
      '/outer': answersAfter(20, () => html('<section><esi:include src="/inner"/></section>', { 'surrogate-control': 'content="ESI/1.0"' })),
      '/inner': answersAfter(20, () => html('<b>inner</b>')),
    });
    expect(withoutScript(await (await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page')).text())).toBe(
      '<body><?marker name="tessera-R-1"><footer>F</footer><template for="tessera-R-1"><section><b>inner</b></section></template></body>',
    );
  });

  it('places only the fragments marked out-of-order that way, the rest in order', async () => {
    const net = upstream({
      '/page': () => html('<body><div data-slot="a">a?</div><div data-slot="b">b?</div></body>'),
      '/a': answersAfter(20, () => html('A')),
      '/b': answersAfter(20, () => html('B')),
    });
    const manifest: RouteManifest = { route: '/page', fragments: { a: { src: '/a', placement: 'out-of-order' }, b: { src: '/b' } } };
    expect(withoutScript(await (await gatewayFor(net, manifest)('/page')).text())).toBe(
      '<body><div data-slot="a"><?start name="tessera-R-1">a?<?end></div><div data-slot="b">B</div><template for="tessera-R-1">A</template></body>',
    );
  });

  it('ends a page without </body> with the templates still owed', async () => {
    const net = upstream({
      '/page': () => esiPage('<esi:include src="/late"/><p>rest</p>'),
      '/late': answersAfter(30, () => html('late')),
    });
    expect(withoutScript(await (await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page')).text())).toBe(
      '<?marker name="tessera-R-1"><p>rest</p><template for="tessera-R-1">late</template>',
    );
  });
});

describe('placeholder names no page content can guess', () => {
  const twoLate = () => esiPage('<body><esi:include src="/late"/><esi:include src="/later"/><footer>F</footer></body>');
  const late = answersAfter(20, () => html('late'));
  const names = (page: string) => [...page.matchAll(/<\?marker name="([^"]*)">/g)].map((m) => m[1]);

  it('names the placeholders afresh in every response, after 64 random bits rather than a count alone', async () => {
    const get = gatewayFor(upstream({ '/page': twoLate, '/late': late, '/later': late }), { route: '/page', ...OUT_OF_ORDER });
    const first = names(await (await get('/page')).text());
    const second = names(await (await get('/page')).text());
    for (const [one, two] of [first, second]) {
      expect(one).toMatch(/^tessera-[0-9a-z]{13}-1$/);
      expect(two).toBe(one.replace(/1$/, '2'));
    }
    expect(second[0]).not.toBe(first[0]);
  });

  it("sends a fallback script that looks only at the templates named with the page's prefix", async () => {
    const get = gatewayFor(upstream({ '/page': twoLate, '/late': late, '/later': late }), { route: '/page', ...OUT_OF_ORDER });
    const page = await (await get('/page')).text();
    const script = /<script>(.*?)<\/script>/.exec(page)?.[1];
    expect(script).toBe(patchScript(prefixOf(page)));
    expect(script).toContain(`querySelectorAll("template[for^='${prefixOf(page)}']")`);
    expect(script).not.toContain('"template[for]"');
  });

  it("leaves the page's own templates as they are, whatever names they guess, before the placeholder or after", async () => {
    const spoofs = '<template for="tessera-1">EVIL</template><template for="tessera-0000000000000-1">EVIL</template>';
    const net = upstream({ '/page': () => esiPage(`<body>${spoofs}<esi:include src="/late"/>${spoofs}<footer>F</footer></body>`), '/late': late });
    expect(withoutScript(await (await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page')).text())).toBe(
      `<body>${spoofs}<?marker name="tessera-R-1">${spoofs}<footer>F</footer><template for="tessera-R-1">late</template></body>`,
    );
  });
});

describe('who gets a page out of order', () => {
  const page = () => esiPage('<body><esi:include src="/late"/><footer>F</footer></body>');
  const late = answersAfter(20, () => html('late'));
  const IN_ORDER = '<body>late<footer>F</footer></body>';

  it('gives crawlers and Save-Data visitors the page in document order, and says the page varies on them', async () => {
    const get = gatewayFor(upstream({ '/page': page, '/late': late }), { route: '/page', ...OUT_OF_ORDER });
    const bot = await get('/page', { headers: { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' } });
    expect(await bot.text()).toBe(IN_ORDER);
    expect(await (await get('/page', { headers: { 'save-data': 'on' } })).text()).toBe(IN_ORDER);
    const visitor = await get('/page', { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36' } });
    expect(named(await visitor.text())).toContain('<template for="tessera-R-1">late</template>');
    expect(visitor.headers.get('vary')).toMatch(/user-agent.*save-data/);
    expect((await get('/page', { method: 'HEAD' })).headers.get('vary')).toBe(visitor.headers.get('vary'));
  });

  it('gives crawlers the page out of order when the route says inOrderFor: []', async () => {
    const get = gatewayFor(upstream({ '/page': page, '/late': late }), { route: '/page', ...OUT_OF_ORDER, inOrderFor: [], esiVariables: ['QUERY_STRING'] });
    const bot = await get('/page', { headers: { 'user-agent': 'Googlebot/2.1' } });
    expect(named(await bot.text())).toContain('<template for="tessera-R-1">');
    expect(bot.headers.get('vary') ?? '').not.toMatch(/user-agent/i);
  });

  it("carries the page's CSP nonce on the fallback script", async () => {
    const csp = "default-src 'self'; script-src 'nonce-r4nd0m' 'strict-dynamic'";
    const net = upstream({ '/page': () => esiPage('<body><esi:include src="/late"/></body>', { 'content-security-policy': csp }), '/late': late });
    const response = await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page');
    expect(named(await response.text())).toContain(`<script nonce="r4nd0m">${SCRIPT}</script><template for="tessera-R-1">late</template>`);
    expect(response.headers.get('content-security-policy')).toBe(csp);
  });

  it('places fragments in order when the CSP lets no inline script run', async () => {
    const csp = "script-src 'self' 'sha256-AAAA'";
    const net = upstream({ '/page': () => esiPage('<body><esi:include src="/late"/></body>', { 'content-security-policy': csp }), '/late': late });
    expect(await (await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER })('/page')).text()).toBe('<body>late</body>');
  });

  it('sends no script on a page whose out-of-order fragments all arrived in time', async () => {
    const net = upstream({ '/page': () => html('<body><div data-slot="a">a?</div></body>'), '/a': () => html('A') });
    const manifest: RouteManifest = { route: '/page', fragments: { a: { src: '/a', placement: 'out-of-order', ttl: '1m' } } };
    const get = gatewayFor(net, manifest);
    await (await get('/page')).text();
    expect(await (await get('/page')).text()).toBe('<body><div data-slot="a">A</div></body>');
  });
});

describe('out-of-order placement with the rest of the gateway', () => {
  const late = answersAfter(20, () => html('<b>late</b>'));

  it('previews a route both ways with ?tessera-placement under tessera dev, and never tells the origin', async () => {
    const net = upstream({ '/page': () => esiPage('<body><esi:include src="/late"/><footer>F</footer></body>'), '/late': late });
    const dev = gatewayFor(net, { route: '/page' }, { env: { TESSERA_DEV: 'true' } });
    const outOfOrder = await dev('/page?tessera-placement=out-of-order');
    expect(withoutScript(await outOfOrder.text())).toBe(
      '<body><?marker name="tessera-R-1"><footer>F</footer><template for="tessera-R-1"><b>late</b></template></body>',
    );
    expect(outOfOrder.headers.get('cache-control')).toBe('private, no-store');
    expect(net.requested('/page').map((call) => new URL(call.url).search)).toEqual(['']);
    const deployed = gatewayFor(net, { route: '/page', ...OUT_OF_ORDER });
    expect(await (await deployed('/page?tessera-placement=out-of-order')).text()).toContain('<template for=');
    expect(await (await deployed('/page?tessera-placement=in-order')).text()).toContain('<template for='); // No token: the switch is ignored.
    expect(await (await dev('/page?tessera-placement=in-order')).text()).toBe('<body><b>late</b><footer>F</footer></body>');
  });

  it('marks out-of-order fragments for the debug view inside their templates', async () => {
    const net = upstream({ '/page': () => esiPage('<body><esi:include src="/late"/><footer>F</footer></body>'), '/late': late });
    const page = named(await (await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER }, { env: { TESSERA_DEV: 'true' } })('/page?tessera-debug')).text());
    expect(page).toContain('<template for="tessera-R-1"><!--tessera:url%3Ahttps%3A%2F%2Forigin.test%2Flate%7C--><b>late</b><!--/tessera--></template>');
    expect(page).toContain('id="tessera-debug-data"');
  });

  it('fails the page for an out-of-order include that fails under esiErrors: fail, never ending it cleanly', async () => {
    const net = upstream({
      '/page': () => esiPage('<body><esi:include src="/broken"/><footer>F</footer></body>'),
      '/broken': answersAfter(20, () => new Response('no', { status: 500 })),
    });
    const response = await gatewayFor(net, { route: '/page', ...OUT_OF_ORDER, esiErrors: 'fail' })('/page');
    await expect(response.text()).rejects.toThrow(/failed/);
  });

  it('waits for a required fragment before the page starts, so it is always in place', async () => {
    const net = upstream({ '/page': () => html('<body><div data-slot="nav">…</div><footer>F</footer></body>'), '/nav': late });
    const manifest: RouteManifest = { route: '/page', ...OUT_OF_ORDER, fragments: { nav: { src: '/nav', required: true } } };
    expect(await (await gatewayFor(net, manifest)('/page')).text()).toBe('<body><div data-slot="nav"><b>late</b></div><footer>F</footer></body>');
  });
});
