import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../../cli/main';

/** A local origin whose pages hold each problem `tessera check` reports. */
const PAGES: Record<string, { html: string; headers?: Record<string, string> }> = {
  '/products/1': {
    headers: { 'surrogate-control': 'content="ESI/1.0"' },
    html: [
      '<html><body>',
      '<div data-slot="price">€1</div>',
      '<div data-slot="typo">x</div>',
      '<esi:include src="https://ads.example.com/a"/>',
      '<esi:remove><esi:include src="/legacy"/></esi:remove>',
      '<script>var s = \'<div data-slot="price">\';</script>',
      '<!-- <esi:include src="/commented"/> -->',
      '<a title="<esi:include src=/x/>">t</a>',
      '<template><div data-slot="price"></div></template>',
      '</body></html>',
    ].join('\n'),
  },
  '/plain': { html: '<p><esi:include src="/f"/></p>' },
  '/fine': { html: '<p><div data-slot="f">x</div></p>' },
  '/misspelt': { html: '<div data-slot="recommendations">x</div>\n<div data-slot="rec">y</div>' },
  '/styled': { html: '<div data-slot="badge">b</div><div data-slot="card">c</div>' },
  // Fragments with assets (issue 23).
  '/fragments/badge': {
    headers: { link: '</assets/badge.css>; rel=stylesheet, <https://cdn.example.com/badge.js>; rel=script' },
    html: '<span class="badge">new</span>',
  },
  '/fragments/card/1': { html: '<script>var s = "<style>";</script>\n<style>.card { color: red }</style><div class="card">card</div>' },
  '/streamed': {
    headers: { 'surrogate-control': 'content="ESI/1.0"' },
    html: '<table><tr><td><div data-slot="recs">…</div></td></tr><tr data-slot="rows"></tr></table>\n<select><esi:include src="/options"/></select>',
  },
};

let origin: Server;
let originUrl: string;
let cwd: string;
beforeEach(async () => {
  origin = createServer((req, res) => {
    const page = PAGES[new URL(req.url ?? '/', 'http://x').pathname];
    if (!page) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html', ...page.headers }).end(page.html);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  cwd = await mkdtemp(path.join(tmpdir(), 'tessera-check-'));
  await mkdir(path.join(cwd, 'manifests'));
  await writeFile(path.join(cwd, 'manifests', 'product.yaml'), 'route: /products/:id\nfragments:\n  price: { src: /price }\n  reviews: { src: /reviews }\n');
  await writeFile(path.join(cwd, 'manifests', 'plain.yaml'), 'route: /plain\nfragments: {}\n');
  await writeFile(path.join(cwd, 'manifests', 'fine.yaml'), 'route: /fine\nfragments:\n  f: { src: /f }\n');
  await writeFile(
    path.join(cwd, 'manifests', 'streamed.yaml'),
    'route: /streamed\nplacement: out-of-order\nfragments:\n  recs: { src: /recs }\n  rows: { src: /rows }\n',
  );
});
afterEach(async () => {
  origin.closeAllConnections();
  await new Promise((resolve) => origin.close(resolve));
  await rm(cwd, { recursive: true, force: true });
});

async function check(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await cli(['check', ...argv], { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) }, cwd });
  return { code, out, err };
}

describe('tessera check', () => {
  it('reports every problem of a page as URL:line:column: what is wrong, what to do', async () => {
    const { code, err } = await check('--origin', originUrl, '/products/1');
    expect(code).toBe(1);
    const page = `${originUrl}/products/1`;
    expect(err.split('\n')).toEqual([
      `${page}:1:1: fragment "reviews" is declared, but this page has no marker for it (it is fetched on every page all the same): add <div data-slot="reviews">…</div>, or remove it from the manifest`,
      `${page}:3:1: data-slot="typo" names no fragment of route product: declare it under fragments:, or remove the attribute`,
      `${page}:4:1: <esi:include src="https://ads.example.com/a"> is on https://ads.example.com, which is not the origin or a listed host: it will be refused. List it under hosts:`,
      `${page}:5:13: <esi:include> inside <esi:remove> is never rendered: move it out of the remove, or delete it`,
      `${page}:6:9: a marker inside <script> is text, not a marker: move it out of the script`,
      `${page}:7:1: a marker inside an HTML comment is not processed: move it out, or write <!--esi … --> to hide ESI from browsers`,
      `${page}:8:1: a marker inside the title="…" attribute is text, not a marker: move it out of the attribute`,
      `${page}:9:11: a marker inside <template> is not processed: move it out of the template`,
      '',
      '8 problems in 1 page',
      '',
    ]);
  });

  it('says when ESI will not be processed on a route', async () => {
    const { code, out, err } = await check('--origin', originUrl, '/plain', '/fine');
    expect(code).toBe(1);
    expect(err).toBe(
      `${originUrl}/plain:1:4: <esi:include> reaches the browser raw: this route has esi: auto and the origin sent no Surrogate-Control: content="ESI/1.0". Send that header from the origin, or set esi: on\n\n1 problem in 2 pages\n`,
    );
    expect(out).toBe('');
  });

  it('says where an out-of-order marker cannot have a placeholder, and renders in order', async () => {
    const { code, err } = await check('--origin', originUrl, '/streamed');
    expect(code).toBe(1);
    const where =
      'is out-of-order, but it sits among table rows, in a <select>, in SVG or MathML, in a <template> or a <noscript>, where a placeholder would change the page: it renders in order here.';
    expect(err).toBe(
      [
        `${originUrl}/streamed:1:55: data-slot="rows" ${where} Move it into a cell or out of that element, or set placement: in-order on fragment "rows"`,
        `${originUrl}/streamed:2:9: <esi:include src="/options"> ${where} Move it into a cell or out of that element, or set placement: in-order on the route`,
        '',
        '2 problems in 1 page',
        '',
      ].join('\n'),
    );
  });

  it('warns of fragment assets on hosts the manifest does not list, and of a fragment stylesheet no page can keep once', async () => {
    await writeFile(
      path.join(cwd, 'manifests', 'styled.yaml'),
      "route: /styled\nfragments:\n  badge: { src: /fragments/badge, assets: ['/assets/badge.css'] }\n  card: { src: '/fragments/card/{query.id|1}' }\n",
    );
    const { code, err } = await check('--origin', originUrl, '/styled');
    expect(code).toBe(1);
    expect(err.split('\n')).toEqual([
      `${originUrl}/fragments/badge:1:1: fragment "badge" names asset https://cdn.example.com/badge.js in its Link header, on https://cdn.example.com, which is not the origin or a listed host: the gateway leaves it out. List it under hosts:, or serve it from the origin`,
      `${originUrl}/fragments/card/1:2:1: fragment "card" carries a <style> of its own: it is sent with every copy of the fragment, and no page can keep it once or preload it. Move it to a stylesheet and name that in the fragment's Link header (</…css>; rel=stylesheet) or under assets:`,
      '',
      '2 problems in 1 page',
      '',
    ]);
  });

  it('passes a page with nothing to say, and needs --origin', async () => {
    expect(await check('--origin', originUrl, '/fine')).toEqual({ code: 0, out: 'tessera check: 1 page, no problems\n', err: '' });
    expect(await check('/fine')).toEqual({ code: 1, out: '', err: 'tessera check: --origin URL is required (the origin whose pages to check)\n' });
  });

  it('suggests the fragment a data-slot probably means', async () => {
    await writeFile(path.join(cwd, 'manifests', 'misspelt.yaml'), 'route: /misspelt\nfragments:\n  recs: { src: /recs }\n');
    const { code, err } = await check('--origin', originUrl, '/misspelt');
    expect(code).toBe(1);
    expect(err.split('\n').filter((line) => line.includes('names no fragment'))).toEqual([
      `${originUrl}/misspelt:1:1: data-slot="recommendations" names no fragment of route misspelt: declare it under fragments:, or remove the attribute`,
      `${originUrl}/misspelt:2:1: data-slot="rec" names no fragment of route misspelt: did you mean "recs"? Otherwise declare it under fragments:, or remove the attribute`,
    ]);
  });

  it('prints its problems as JSON with --json, and as GitHub annotations with --format github', async () => {
    const json = await check('--origin', originUrl, '--json', '/plain', '/nowhere');
    expect(json.code).toBe(1);
    expect(json.err).toBe('');
    expect(JSON.parse(json.out)).toEqual({
      problems: [
        {
          url: `${originUrl}/plain`,
          line: 1,
          column: 4,
          message: expect.stringMatching(/^<esi:include> reaches the browser raw/),
          severity: 'error',
        },
        { url: `${originUrl}/nowhere`, line: 1, column: 1, message: 'no manifest route matches this path: nothing is assembled here', severity: 'error' },
      ],
      summary: { errors: 2, pages: 2, ok: false, text: '2 problems in 2 pages' },
    });
    const github = await check('--origin', originUrl, '--format', 'github', '/plain');
    const host = originUrl.replace('http://', '').replace(':', '%3A');
    expect(github.out.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^::error file=http%3A//${host}/plain,line=1,col=4::${originUrl}/plain: <esi:include> reaches the browser raw`)),
      'tessera check: 1 problem in 1 page',
      '',
    ]);
  });

  it('shows what it is waiting for on a terminal, and clears it', async () => {
    let err = '';
    const code = await cli(['check', '--origin', originUrl, '/fine', '/plain'], {
      out: { write: () => {} },
      err: { write: (t: string) => (err += t), isTTY: true },
      cwd,
    });
    expect(code).toBe(1);
    expect(err).toContain('\r\x1b[Ktessera check: reading the manifests…');
    expect(err).toContain('\r\x1b[Ktessera check: checking 2 pages… 1/2 /fine');
    expect(err).toContain('\r\x1b[Ktessera check: checking 2 pages… 2/2 /plain');
    // What remains once the progress lines are cleared: what a plain pipe gets.
    const CLEAR = '\r\x1b[K';
    expect(
      err
        .split(CLEAR)
        .filter((part) => !part.startsWith('tessera check: '))
        .join(''),
    ).toBe(
      `${originUrl}/plain:1:4: <esi:include> reaches the browser raw: this route has esi: auto and the origin sent no Surrogate-Control: content="ESI/1.0". Send that header from the origin, or set esi: on\n\n1 problem in 2 pages\n`,
    );
  });
});
