import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../../cli/main';

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'tessera-cli-'));
  await mkdir(path.join(cwd, 'manifests'));
});
afterEach(() => rm(cwd, { recursive: true, force: true }));

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await cli(argv, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) }, cwd });
  return { code, out, err };
}

const manifest = (name: string, text: string) => writeFile(path.join(cwd, 'manifests', name), text);

describe('tessera validate', () => {
  it('reports every problem of every file as file:line:col: field: message, with the source line', async () => {
    await manifest(
      'product.yaml',
      [
        'route: /products/:id',
        'esi: maybe',
        'fragments:',
        '  price:',
        '    src: /price/{params.sku}?c={cookie.cur|EUR}',
        '    ttl: soon',
        '    tll: 5m',
        '    fallback: { html: 3 }',
        '  recs:',
        '    timeout: 80ms',
        '  nav:',
        '    src: /nav/{user.id}',
        '    required: yes',
        'hosts: [pricing.example.com, "ftp://x"]',
        '',
      ].join('\n'),
    );
    await manifest('home.yaml', 'route: /\nfragments:\n  a: { src: /a }\n  a: { src: /b }\n');
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err).toBe(
      [
        'manifests/home.yaml:4:3: invalid YAML: Map keys must be unique',
        '  4 |   a: { src: /b }',
        '        ^',
        'manifests/product.yaml:2:6: esi: expected one of auto, on, off, got "maybe"',
        '  2 | esi: maybe',
        '           ^',
        'manifests/product.yaml:5:17: fragments.price.src: expected a route parameter, got {params.sku} (this route has: {params.id})',
        '  5 |     src: /price/{params.sku}?c={cookie.cur|EUR}',
        '                      ^',
        'manifests/product.yaml:6:10: fragments.price.ttl: expected a duration like "300ms", "30s", "5m", "6h", "1d" or a number of seconds, got "soon"',
        '  6 |     ttl: soon',
        '               ^',
        'manifests/product.yaml:7:5: fragments.price.tll: unknown field; did you mean "ttl"? (expected one of: src, ttl, timeout, staleWhileRevalidate, staleIfError, vary, forwardHeaders, required, fallback, contentTypes, lastGood, coalesce, placement, placeholder, tags, experiment, variants, assets)',
        '  7 |     tll: 5m',
        '          ^',
        'manifests/product.yaml:8:23: fragments.price.fallback.html: expected fallback markup (a string), got 3',
        '  8 |     fallback: { html: 3 }',
        '                            ^',
        'manifests/product.yaml:9:3: fragments.recs.src: required: expected a URL path or absolute URL (a string)',
        '  9 |   recs:',
        '        ^',
        'manifests/product.yaml:12:15: fragments.nav.src: expected a variable such as {params.NAME}, {query.NAME}, {cookie.NAME}, {header.NAME}, {geo.country} or {segment} (optionally with |default), got {user.id}',
        '  12 |     src: /nav/{user.id}',
        '                     ^',
        'manifests/product.yaml:13:15: fragments.nav.required: expected true or false, got "yes"',
        '  13 |     required: yes',
        '                     ^',
        'manifests/product.yaml:14:30: hosts[1]: expected a host such as "pricing.example.com" or an origin such as "http://127.0.0.1:9000", got "ftp://x"',
        '  14 | hosts: [pricing.example.com, "ftp://x"]',
        '                                    ^',
        '',
        '10 problems in manifests',
        '',
      ].join('\n'),
    );
  });

  it('catches a route claimed by two manifests and a missing route', async () => {
    await manifest('a.yaml', 'route: /products/:id\n');
    await manifest('b.yaml', 'routes: [/, /products/:id]\n');
    await manifest('c.yaml', 'fragments: {}\n');
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err.split('\n').filter((l) => l.startsWith('manifests/'))).toEqual([
      'manifests/b.yaml:1:13: routes[1]: pattern "/products/:id" is already routed by manifests/a.yaml',
      'manifests/c.yaml:1:1: route: required: expected route: (a URL path pattern such as "/products/:id") or routes: (a list of them)',
    ]);
  });

  it('rejects a malformed URLPattern at build time, not at the first request', async () => {
    await manifest('a.yaml', 'route: /products/(unclosed\n');
    const { err } = await run('validate');
    expect(err).toMatch(/^manifests\/a\.yaml:1:8: route: expected a URLPattern pathname, got "\/products\/\(unclosed"/);
  });

  it('accepts the shipped demo manifests', async () => {
    const { code, out } = await cli(['validate', 'manifests'], {
      out: { write: (t: string) => (captured += t) },
      err: { write: () => {} },
      cwd: path.resolve(import.meta.dirname, '../..'),
    }).then((code) => ({ code, out: captured }));
    expect(code).toBe(0);
    expect(out).toMatch(/^2 manifests OK: home \(\/, 2 fragments\); product \(\/products\/:id, 6 fragments\)/);
  });
});

let captured = '';

describe('tessera validate: caching and credentials', () => {
  it('refuses to cache a fragment that receives credentials unless vary says what its answer depends on', async () => {
    await manifest(
      'cart.yaml',
      ['route: /cart', 'fragments:', '  cart:', '    src: /fragments/cart', '    ttl: 5m', '    forwardHeaders: [cookie, accept-language]', ''].join('\n'),
    );
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err.split('\n')[0]).toBe(
      "manifests/cart.yaml:5:10: fragments.cart.ttl: expected a vary: list naming what the answer depends on (such as cookie.session), because this fragment receives cookie and is cached; without it one visitor's answer would be served to another",
    );
    await manifest(
      'cart.yaml',
      [
        'route: /cart',
        'fragments:',
        '  cart:',
        '    src: /fragments/cart',
        '    ttl: 5m',
        '    forwardHeaders: [cookie]',
        '    vary: [cookie.session]',
        '',
      ].join('\n'),
    );
    expect((await run('validate')).code).toBe(0);
  });
});

describe('tessera build', () => {
  it('compiles manifests into the module the Worker imports, durations in ms', async () => {
    await manifest('shop.yaml', 'route: /p/:id\ndefaults: { timeout: 300ms }\nfragments:\n  price: { src: "/price/{params.id}", ttl: 5m, fallback: keep }\n');
    const { code, out } = await run('build', '--out', 'routes.json');
    expect(code).toBe(0);
    expect(out).toBe('tessera build: 1 route → routes.json\n');
    const compiled = JSON.parse(await readFile(path.join(cwd, 'routes.json'), 'utf8'));
    expect(compiled.patterns).toEqual([{ pattern: '/p/:id', route: 0 }]);
    expect(compiled.routes[0].fragments.price).toMatchObject({
      ttlMs: 300_000,
      timeoutMs: 300,
      fallback: { keep: true },
      src: { raw: '/price/{params.id}', parts: ['/price/', { source: 'params', name: 'id' }] },
    });
  });

  it('writes nothing when a manifest is invalid', async () => {
    await manifest('shop.yaml', 'route: /p\nfragments:\n  x: { src: /x, timeout: later }\n');
    const { code, err } = await run('build', '--out', 'routes.json');
    expect(code).toBe(1);
    expect(err).toContain('manifests/shop.yaml:3:26: fragments.x.timeout: expected a duration');
    await expect(readFile(path.join(cwd, 'routes.json'))).rejects.toThrow();
  });
});

describe('tessera', () => {
  it('explains unknown commands and bad flags in one line, without a stack trace', async () => {
    expect((await run('serve')).err).toMatch(/^tessera: unknown command "serve"\n/);
    const bad = await run('build', '--nope');
    expect(bad.code).toBe(1);
    expect(bad.err).toBe("tessera build: Unknown option '--nope' (see tessera build --help)\n");
  });

  it('prints its usage when run bare, and with --help', async () => {
    const bare = await run();
    expect(bare.code).toBe(1);
    expect(bare.err).toBe(
      [
        'Usage: tessera <command> [options]',
        '',
        'Commands:',
        '  dev        Run the gateway locally in front of an origin; manifest edits reload live',
        '  validate   Check manifests; exits 1 and lists every problem as file:line:column',
        '  check      Fetch origin pages and lint their markup against the manifests',
        '  build      Compile manifests into the module the Worker imports',
        '  deploy     Deploy with wrangler, after checking that ORIGIN is a real one',
        '  init       Write a starter manifest, wired to the JSON Schema for editor help',
        '  schema     Print (or write) the JSON Schema of manifests, for editors',
        '',
        'Run tessera <command> --help for its options; tessera --version for the version.',
        '',
      ].join('\n'),
    );
    expect(await run('--help')).toEqual({ code: 0, out: bare.err, err: '' });
  });

  it.each(['dev', 'validate', 'check', 'build', 'init', 'schema'])('answers %s --help with the command’s own usage, starting nothing', async (name) => {
    const { code, out } = await run(name, '--help');
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Usage: tessera ${name} `));
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(await readFile(path.join(import.meta.dirname, '../../package.json'), 'utf8'));
    expect(await run('--version')).toEqual({ code: 0, out: `tessera ${version}\n`, err: '' });
  });
});

describe('tessera dev', () => {
  it('refuses bad options before starting anything', async () => {
    expect(await run('dev', '--origin', 'http://127.0.0.1:9', '--manifests', 'missing')).toMatchObject({
      code: 1,
      err: 'tessera dev: --manifests missing is not a directory\n',
    });
    expect(await run('dev', '--origin', 'ftp://example.test')).toMatchObject({
      code: 1,
      err: 'tessera dev: --origin must be an absolute URL such as http://127.0.0.1:3000 (or use --demo)\n',
    });
    expect((await run('dev', '--port', 'eighty')).err).toBe('tessera dev: --port must be a port number, got "eighty"\n');
  });
});

describe('tessera validate, the gaps closed', () => {
  it('refuses an absolute src on a host that is not listed, with the caret on the src', async () => {
    await manifest(
      'a.yaml',
      [
        'route: /a',
        'hosts: [pricing.example.com]',
        'fragments:',
        '  ok: { src: https://pricing.example.com/p }',
        '  bad: { src: https://evil.example.com/x }',
        '',
      ].join('\n'),
    );
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err).toContain(
      'manifests/a.yaml:5:15: fragments.bad.src: https://evil.example.com is not the origin or a listed host: list it under hosts:, or give a path (which goes to the origin)',
    );
  });

  it('refuses a placeholder on a fragment placed in order, and a misspelt placement', async () => {
    await manifest(
      'a.yaml',
      [
        'route: /a',
        'inOrderFor: [bots, robots]',
        'fragments:',
        '  recs: { src: /recs, placeholder: "<div class=skeleton></div>" }',
        '  news: { src: /news, placement: later }',
        '',
      ].join('\n'),
    );
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err).toContain('manifests/a.yaml:2:20: inOrderFor[1]: expected bots or save-data, got "robots"');
    expect(err).toContain('manifests/a.yaml:5:34: fragments.news.placement: expected in-order or out-of-order, got "later"');
    expect(err).not.toContain('fragments.recs.placeholder');
    await manifest('a.yaml', 'route: /a\nfragments:\n  recs: { src: /recs, placeholder: "<div class=skeleton></div>" }\n');
    const second = await run('validate');
    expect(second.err).toContain(
      'manifests/a.yaml:3:36: fragments.recs.placeholder: expected placement: out-of-order (on the fragment or the route): a placeholder shows only while an out-of-order fragment is on its way',
    );
  });

  it('takes a single file as its argument', async () => {
    await manifest('one.yaml', 'route: /one\nfragments: {}\n');
    await manifest('broken.yaml', 'route: 12\n');
    const { code, out } = await run('validate', 'manifests/one.yaml');
    expect(code).toBe(0);
    expect(out).toBe('1 manifest OK: one (/one, 0 fragments)\n');
  });

  it('calls an empty directory an error', async () => {
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err).toBe('manifests:1:1: no manifests here: expected *.yaml files, one per route\n\n1 problem in manifests\n');
  });
});

describe('editor support', () => {
  it('ships the JSON Schema the validator generates, current', async () => {
    const { code, out } = await run('schema');
    expect(code).toBe(0);
    const shipped = await readFile(path.join(import.meta.dirname, '../../schema/manifest.schema.json'), 'utf8');
    expect(out).toBe(shipped); // if this fails: npx tessera schema --out schema/manifest.schema.json
    const schema = JSON.parse(out);
    expect(schema.properties.fragments.additionalProperties.properties.ttl.description).toMatch(/^How long a fragment stays cached/);
  });

  it('writes a starter manifest that points editors at the schema and validates as it is, and never overwrites one', async () => {
    const first = await run('init', '--route', '/products/:id', '--name', 'product');
    expect(first).toMatchObject({ code: 0, out: 'tessera init: wrote manifests/product.yaml; check it with: npx tessera validate manifests\n' });
    const written = await readFile(path.join(cwd, 'manifests', 'product.yaml'), 'utf8');
    expect(written.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=.*schema\/manifest\.schema\.json$/);
    expect((await run('validate')).code).toBe(0);
    const again = await run('init', '--name', 'product');
    expect(again).toMatchObject({ code: 1, err: 'tessera init: manifests/product.yaml exists already; not overwritten (choose another --name)\n' });
  });
});

describe('tessera validate, problems that hide behind others', () => {
  it('finds a route routed twice even when one of the files has other problems', async () => {
    await manifest('a.yaml', 'route: /same\nfragments: {}\n');
    await manifest('b.yaml', 'route: /same\nesi: maybe\nfragments: {}\n');
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err).toContain('manifests/b.yaml:1:8: route: pattern "/same" is already routed by manifests/a.yaml');
    expect(err).toContain('manifests/b.yaml:2:6: esi: expected one of auto, on, off');
  });

  it('gives one message for a YAML indentation error, not its knock-on ones', async () => {
    await manifest('bad.yaml', 'route: /x\nfragments:\n  a:\n    src: /a\n   ttl: 5m\n  b: { src: /b }\n');
    const { code, err } = await run('validate');
    expect(code).toBe(1);
    expect(err.split('\n').filter((line) => /^manifests\/bad\.yaml:\d+:\d+:/.test(line))).toHaveLength(1);
  });
});

describe('tessera build, for another machine', () => {
  it('leaves no absolute path of the build machine in the compiled routes', async () => {
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'tessera-manifests-'));
    try {
      await writeFile(path.join(elsewhere, 'page.yaml'), 'route: /page\nfragments: {}\n');
      const out = path.join(cwd, 'routes.json');
      const { code } = await run('build', '--manifests', elsewhere, '--out', out);
      expect(code).toBe(0);
      const compiled = await readFile(out, 'utf8');
      expect(compiled).not.toContain(tmpdir());
      expect(JSON.parse(compiled).routes[0].file).toBe(`${path.basename(elsewhere)}/page.yaml`);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('tessera validate, every bad variable', () => {
  it('reports each bad variable of a src with the caret on it, and a missing route param beside them', async () => {
    await manifest('a.yaml', 'route: /p/:id\nesi: maybe\nfragments:\n  a:\n    src: "/x/{params.sku}/{user.id}?q={nope.x}"\n');
    const { err } = await run('validate');
    const lines = err.split('\n').filter((line) => line.startsWith('manifests/'));
    expect(lines).toEqual([
      'manifests/a.yaml:2:6: esi: expected one of auto, on, off, got "maybe"',
      'manifests/a.yaml:5:14: fragments.a.src: expected a route parameter, got {params.sku} (this route has: {params.id})',
      'manifests/a.yaml:5:27: fragments.a.src: expected a variable such as {params.NAME}, {query.NAME}, {cookie.NAME}, {header.NAME}, {geo.country} or {segment} (optionally with |default), got {user.id}',
      'manifests/a.yaml:5:39: fragments.a.src: expected a variable such as {params.NAME}, {query.NAME}, {cookie.NAME}, {header.NAME}, {geo.country} or {segment} (optionally with |default), got {nope.x}',
    ]);
  });
});

describe('tessera validate, beside an editor', () => {
  it('ignores editor leftovers: an Emacs lock (.#x.yaml, a dangling symlink), a Vim swap file, a backup~', async () => {
    await manifest('page.yaml', 'route: /page\nfragments: {}\n');
    await symlink('user@host.1234:1700000000', path.join(cwd, 'manifests', '.#page.yaml'));
    await manifest('.page.yaml.swp', 'b0VIM 9.0\n');
    await manifest('page.yaml~', 'route: /page\n  broken: [\n');
    const { code, out, err } = await run('validate');
    expect({ code, out, err }).toEqual({ code: 0, out: '1 manifest OK: page (/page, 0 fragments)\n', err: '' });
  });
});

describe('tessera validate and build: the page: block', () => {
  const product = (page: string[], extra: string[] = []) =>
    manifest('product.yaml', ['route: /products/:id', ...extra, 'page:', ...page.map((line) => `  ${line}`), ''].join('\n'));
  const problems = async () => (await run('validate')).err.split('\n').filter((line) => line.startsWith('manifests/'));

  it('compiles a full page: block into the route, durations in ms and vary entries parsed as template variables', async () => {
    await product(
      [
        'ttl: 10m',
        'staleWhileRevalidate: 1m',
        'staleIfError: 1d',
        'vary: [cookie.currency, header.X-Market, geo.country, segment]',
        'lastGood: true',
        'tags: [catalog]',
        'coalesce: global',
      ],
      ['segment: cookie.uid'],
    );
    const { code } = await run('build', '--out', 'routes.json');
    expect(code).toBe(0);
    const compiled = JSON.parse(await readFile(path.join(cwd, 'routes.json'), 'utf8'));
    expect(compiled.routes[0].page).toEqual({
      ttl: { kind: 'fixed', ms: 600_000 },
      staleWhileRevalidateMs: 60_000,
      staleIfErrorMs: 86_400_000,
      vary: [
        { source: 'cookie', name: 'currency' },
        { source: 'header', name: 'x-market' },
        { source: 'geo', name: 'country' },
        { source: 'segment', name: '' },
      ],
      lastGood: true,
      tags: ['catalog'],
      coalesce: 'global',
    });
  });

  it('takes ttl: origin, fills in the defaults and takes coalesce from the route', async () => {
    await product(['ttl: origin'], ['coalesce: global']);
    expect((await run('build', '--out', 'routes.json')).code).toBe(0);
    const compiled = JSON.parse(await readFile(path.join(cwd, 'routes.json'), 'utf8'));
    expect(compiled.routes[0].page).toEqual({
      ttl: { kind: 'origin' },
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0,
      vary: [],
      lastGood: false,
      tags: [],
      coalesce: 'global',
    });
  });

  it('leaves page out of the compiled route when the manifest has no page: block', async () => {
    await manifest('product.yaml', 'route: /products/:id\n');
    expect((await run('build', '--out', 'routes.json')).code).toBe(0);
    const compiled = JSON.parse(await readFile(path.join(cwd, 'routes.json'), 'utf8'));
    expect(compiled.routes[0]).not.toHaveProperty('page');
    expect(compiled.routes[0].fragments).toEqual({});
  });

  it('refuses a ttl of 0, with the caret on it', async () => {
    await product(['ttl: 0']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:3:8: page.ttl: expected a duration above 0, or origin; leave page: out to ask the origin on every view',
    ]);
  });

  it('refuses a ttl that is neither a duration nor origin, and a page: block without ttl', async () => {
    await product(['ttl: forever']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:3:8: page.ttl: expected a duration like "300ms", "30s", "5m", "6h", "1d" or a number of seconds, or origin, got "forever"',
    ]);
    await product(['staleIfError: 1d']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:2:1: page.ttl: required: expected a duration like "300ms", "30s", "5m", "6h", "1d" or a number of seconds, or origin',
    ]);
  });

  it('refuses a vary entry on the URL or on no visitor input, each at its own list item', async () => {
    await product(['ttl: 10m', 'vary: [cookie.currency, params.id, query.page, geo.city, user.id]']);
    const hint = 'expected cookie.NAME, header.NAME, geo.country or segment';
    expect(await problems()).toEqual([
      `manifests/product.yaml:4:27: page.vary[1]: ${hint}, got "params.id": the page key already covers the path and query`,
      `manifests/product.yaml:4:38: page.vary[2]: ${hint}, got "query.page": the page key already covers the path and query`,
      `manifests/product.yaml:4:50: page.vary[3]: ${hint}, got "geo.city"`,
      `manifests/product.yaml:4:60: page.vary[4]: ${hint}, got "user.id"`,
    ]);
  });

  it('refuses a page that varies on segment on a route without segment:', async () => {
    await product(['ttl: 10m', 'vary: [segment]']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:4:10: page.vary[0]: expected segment: on the route (such as "cookie.uid") for a page that varies on segment',
    ]);
  });

  it('refuses lastGood without staleIfError, as for fragments', async () => {
    await product(['ttl: 10m', 'lastGood: true']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:4:13: page.lastGood: expected staleIfError: as well, for how long the last good copy may be served',
    ]);
  });

  it('names an unknown field inside page: and suggests the one meant', async () => {
    await product(['ttl: 10m', 'staleWhileRevalidat: 1m', 'tags: ["bad tag"]']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:4:3: page.staleWhileRevalidat: unknown field; did you mean "staleWhileRevalidate"? (expected one of: ttl, staleWhileRevalidate, staleIfError, vary, lastGood, tags, coalesce)',
      'manifests/product.yaml:5:10: page.tags[0]: expected a tag of letters, digits and _ . : -, got "bad tag"',
    ]);
  });

  it('describes the page: block in the JSON Schema as a page, not a fragment or a timeout', async () => {
    const schema = JSON.parse((await run('schema')).out);
    const page = schema.properties.page;
    expect(page.description).toMatch(/^Cache the origin page itself/);
    expect(page.required).toEqual(['ttl']);
    expect(page.properties.ttl.description).toMatch(/^How long the cached page is fresh/);
    expect(page.properties.ttl.anyOf).toContainEqual(expect.objectContaining({ const: 'origin' }));
    expect(page.properties.vary.description).toMatch(/^What the page depends on/);
    expect(schema.properties.timeouts.properties.page.description).toMatch(/^Request to last byte/);
  });
});

describe('tessera validate and build: experiments', () => {
  const problems = async () => (await run('validate')).err.split('\n').filter((line) => line.startsWith('manifests/'));
  const recs = (lines: string[], extra: string[] = []) =>
    manifest(
      'product.yaml',
      ['route: /products/:id', ...extra, 'fragments:', '  recs:', '    src: /recs/{params.id}', '    ttl: 1m', ...lines.map((line) => `    ${line}`), ''].join(
        '\n',
      ),
    );

  it('compiles each variant as the fragment with its own fields, weights as given, and the route its assignment defaults', async () => {
    await recs([
      'experiment: recs-2026-12',
      'fallback: keep',
      'variants:',
      "  new: { src: '/recs/v2/{params.id}', weight: 10, ttl: 5m, fallback: { html: sorry } }",
      '  fast: { weight: 2.5, timeout: 100ms }',
    ]);
    expect((await run('build', '--out', 'routes.json')).code).toBe(0);
    const route = JSON.parse(await readFile(path.join(cwd, 'routes.json'), 'utf8')).routes[0];
    const [neu, fast] = route.fragments.recs.experiment.variants;
    expect(route.fragments.recs.experiment.name).toBe('recs-2026-12');
    expect([neu.name, neu.weight, neu.fields.src.raw, neu.fields.ttlMs, neu.fields.fallback]).toEqual([
      'new',
      10,
      '/recs/v2/{params.id}',
      300_000,
      { keep: false, html: 'sorry' },
    ]);
    expect([fast.name, fast.weight, fast.fields.src.raw, fast.fields.ttlMs, fast.fields.timeoutMs, fast.fields.fallback]).toEqual([
      'fast',
      2.5,
      '/recs/{params.id}',
      60_000,
      100,
      { keep: true },
    ]);
    expect(route.assignment).toEqual({ defaultFor: ['bots'] });
  });

  it('refuses weights above 100 in all, an arm named default, and variants without an experiment (or the reverse)', async () => {
    await recs(['experiment: recs', 'variants:', '  new: { weight: 60 }', '  alt: { weight: 50 }', '  default: { weight: 1 }']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:8:7: fragments.recs.variants: expected weights that add up to at most 100 (the default arm gets the rest), got 110 (new 60, alt 50)',
      'manifests/product.yaml:10:16: fragments.recs.variants.default: expected an arm name other than default: the default arm is the fragment as declared',
    ]);
    await recs(['variants: { new: { weight: 10 } }']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:6:15: fragments.recs.variants: expected experiment: as well, such as experiment: recs-2026-12 (its name in metrics, in the weights’ KV key and in the bucket hash)',
    ]);
    await recs(['experiment: recs']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:6:17: fragments.recs.experiment: expected variants: with at least one arm, such as new: { src: /fragments/recs/v2, weight: 10 }',
    ]);
  });

  it('checks a weight, an arm name and an unknown field in a variant, and the variant src by the fragment rules', async () => {
    await recs(['experiment: recs', 'variants:', "  'new arm': { weight: 10 }", "  b: { weight: 101, src: '/x/{params.sku}' }", '  c: { weight: 1, tll: 5m }']);
    expect(await problems()).toEqual([
      'manifests/product.yaml:8:7: fragments.recs.variants.new arm: expected an arm name of letters, digits, _ . and -, got "new arm"',
      'manifests/product.yaml:9:20: fragments.recs.variants.b.weight: expected a percentage from 0 to 100, got 101',
      'manifests/product.yaml:10:23: fragments.recs.variants.c.tll: unknown field; did you mean "ttl"? (expected one of: weight, src, fallback, ttl, timeout, staleWhileRevalidate, staleIfError, placement, placeholder)',
    ]);
    await manifest(
      'product.yaml',
      [
        'route: /products/:id',
        'fragments:',
        '  recs:',
        '    src: /recs/{params.id}',
        '    experiment: recs',
        '    forwardHeaders: [cookie]',
        '    variants:',
        "      b: { weight: 10, src: '/x/{params.sku}', ttl: 1m }",
        '',
      ].join('\n'),
    );
    expect(await problems()).toEqual([
      'manifests/product.yaml:8:33: fragments.recs.variants.b.src: expected a route parameter, got {params.sku} (this route has: {params.id})',
      "manifests/product.yaml:8:53: fragments.recs.variants.b.ttl: expected a vary: list naming what the answer depends on (such as cookie.session), because this fragment receives cookie and is cached; without it one visitor's answer would be served to another",
    ]);
  });

  it('insists that fragments of one experiment, on one route or several, have the same arms', async () => {
    await manifest(
      'product.yaml',
      [
        'route: /products/:id',
        'fragments:',
        '  a: { src: /a, experiment: chrome, variants: { new: { weight: 10 } } }',
        '  b: { src: /b, experiment: chrome, variants: { new: { weight: 20 } } }',
        '',
      ].join('\n'),
    );
    await manifest('home.yaml', 'route: /\nfragments:\n  a: { src: /a, experiment: chrome, variants: { neu: { weight: 10 } } }\n');
    expect(await problems()).toEqual([
      'manifests/product.yaml:4:47: fragments.b.variants: expected the arms of fragment "a" (new 10), which is in experiment "chrome" too: fragments of one experiment are assigned together, so their arms and weights must match',
    ]);
    await manifest('product.yaml', 'route: /products/:id\nfragments:\n  a: { src: /a, experiment: chrome, variants: { new: { weight: 10 } } }\n');
    expect(await problems()).toEqual([
      'manifests/product.yaml:3:47: fragments.a.variants: expected the arms experiment "chrome" has in manifests/home.yaml (neu 10): a visitor\'s arm must not depend on the page',
    ]);
  });

  it('compiles assignment: and refuses it on a route without experiments', async () => {
    await recs(['experiment: recs', 'variants: { new: { weight: 10 } }'], ['assignment: { visitorId: header.X-Visitor, defaultFor: [bots, save-data] }']);
    expect((await run('build', '--out', 'routes.json')).code).toBe(0);
    const route = JSON.parse(await readFile(path.join(cwd, 'routes.json'), 'utf8')).routes[0];
    expect(route.assignment).toEqual({ visitorId: { source: 'header', name: 'x-visitor' }, defaultFor: ['bots', 'save-data'] });
    await manifest('product.yaml', 'route: /products/:id\nassignment: { visitorId: cookie.uid }\n');
    expect(await problems()).toEqual([
      'manifests/product.yaml:2:13: assignment: expected a fragment with variants: on this route: assignment: only says how visitors get their arms',
    ]);
  });
});
