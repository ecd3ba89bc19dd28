import { describe, expect, it } from 'vitest';
import { cacheability } from '../../../gateway/fetch/cacheability';

const url = new URL('https://fragments.test/price');
const judged = (response: Response, request: HeadersInit = {}) => cacheability(url, new Headers(request), response);
const answer = (status: number, headers: HeadersInit = {}) => new Response(null, { status, headers });

describe('whether a shared cache may store an answer', () => {
  it('stores a plain 200, and a 404, which caches keep by default', () => {
    expect(judged(answer(200)).storable).toBe(true);
    expect(judged(answer(404)).storable).toBe(true);
  });

  it('refuses no-store and private, in the answer or (no-store) in the request', () => {
    expect(judged(answer(200, { 'cache-control': 'no-store' }))).toEqual({ storable: false, why: 'Cache-Control: no-store' });
    expect(judged(answer(200, { 'cache-control': 'private, max-age=60' }))).toEqual({ storable: false, why: 'Cache-Control: private' });
    expect(judged(answer(200), { 'cache-control': 'no-store' }).storable).toBe(false);
  });

  it('refuses an answer that sets a cookie', () => {
    expect(judged(answer(200, { 'set-cookie': 'session=1', 'cache-control': 'public, max-age=60' }))).toEqual({ storable: false, why: 'it sets a cookie' });
  });

  it('refuses an answer to an Authorization unless it says public', () => {
    expect(judged(answer(200), { authorization: 'Bearer t' }).storable).toBe(false);
    expect(judged(answer(200, { 'cache-control': 'public' }), { authorization: 'Bearer t' }).storable).toBe(true);
  });

  it('stores a 302 only with explicit freshness: a max-age or an Expires', () => {
    expect(judged(answer(302)).storable).toBe(false);
    expect(judged(answer(302, { 'cache-control': 'max-age=60' })).storable).toBe(true);
    expect(judged(answer(302, { expires: new Date(Date.now() + 60_000).toUTCString() })).storable).toBe(true);
  });
});
