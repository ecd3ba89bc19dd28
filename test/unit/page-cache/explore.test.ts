import { expect, it } from 'vitest';
import { delay, esiPage, gatewayFor, html, upstream } from '../harness';

const view = async (get: ReturnType<typeof gatewayFor>, path: string, init?: RequestInit) => {
  const r = await get(path, init);
  let body: string;
  try { body = await r.text(); } catch (e) { body = `ERR ${e}`; }
  await r.settled();
  return { status: r.status, headers: [...r.headers], body };
};

it('explore', async () => {
  const net = upstream({
    '/page': () => esiPage('<main><div data-slot="price">€1</div><esi:include src="/inc"/><div data-slot="stock">ask</div></main>', { 'cache-control': 'public, max-age=600' }),
    '/price': () => html('<b>€2</b>'),
    '/inc': () => html('INC'),
    '/stock': async () => { await delay(20); return html('S'); },
  });
  const get = gatewayFor(net, { route: '/page', page: { ttl: '10m' }, fragments: { price: { src: '/price' }, stock: { src: '/stock', fallback: 'keep' } } } as never);
  const a = await view(get, '/page');
  const b = await view(get, '/page');
  console.log(JSON.stringify(a, null, 1), JSON.stringify(b, null, 1), net.requested('/page').length);
  expect(1).toBe(1);
});
