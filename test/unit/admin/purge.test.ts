import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { gatewayFor, html, upstream } from '../harness';

const TOKEN = 'secret-admin-token';

/** A gateway with purge switched on, and a tagged fragment that changes on every fetch. */
function purgeable(adminEnv: Record<string, unknown> = { TESSERA_ADMIN_TOKEN: TOKEN, TESSERA_VERSIONS: env.TESSERA_VERSIONS }) {
  let fetches = 0;
  const net = upstream({ '/page': () => html('<div data-slot="f"></div>'), '/f': () => html(`v${++fetches}`) });
  const get = gatewayFor(net, { route: '/page', fragments: { f: { src: `/f?${Math.random()}`, ttl: '1h', tags: ['chrome'] } } }, { env: adminEnv });
  const page = async () => {
    const response = await get('/page');
    const body = await response.text();
    await response.settled();
    return body;
  };
  const purge = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    get('/__tessera/purge', { method: 'POST', headers, body: JSON.stringify(body) });
  return { page, purge, get, net };
}

describe('purge', () => {
  it('needs the admin token: 401 without one, 403 with a wrong one, and never reaches the origin', async () => {
    const { purge, net } = purgeable();
    const missing = await purge({ fragments: ['f'] }, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await purge({ fragments: ['f'] }, { authorization: 'Bearer wrong' })).status).toBe(403);
    expect(net.calls).toHaveLength(0);
  });

  it('is off without TESSERA_ADMIN_TOKEN, answers only POST, and explains a bad body', async () => {
    expect((await purgeable({}).purge({ fragments: ['f'] })).status).toBe(404);
    const { get, purge } = purgeable();
    expect((await get('/__tessera/purge')).status).toBe(405);
    const bad = await purge({ everything: true });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'expected JSON such as {"fragments": ["header"], "tags": ["chrome"], "routes": ["product"]}' });
  });

  it('says it needs a KV namespace when none is bound', async () => {
    const response = await purgeable({ TESSERA_ADMIN_TOKEN: TOKEN }).purge({ fragments: ['f'] });
    expect(response.status).toBe(501);
    expect(await response.json()).toEqual({ error: 'purge needs a KV namespace bound as TESSERA_VERSIONS' });
  });

  it.each([
    ['by fragment id', { fragments: ['f'] }],
    ['by tag', { tags: ['chrome'] }],
  ])('takes effect %s: the next page fetches the fragment again', async (_, targets) => {
    const { page, purge } = purgeable();
    expect([await page(), await page()]).toEqual(['<div data-slot="f">v1</div>', '<div data-slot="f">v1</div>']);
    const purged = await purge(targets);
    expect(purged.status).toBe(200);
    expect(await page()).toBe('<div data-slot="f">v2</div>');
  });
});
