import CachePolicy from 'http-cache-semantics';

/**
 * Whether a fragment response may be stored: only what a shared HTTP cache
 * would store (RFC 9111, decided by http-cache-semantics: no `no-store`, no
 * `private`, nothing answered to an Authorization unless the answer says
 * `public`, a status a cache understands), and never a response that sets a
 * cookie. The manifest's `ttl` then says for how long.
 */
export type Cacheability = { storable: true } | { storable: false; why: string };

export function cacheability(url: URL, requestHeaders: Headers, response: Response): Cacheability {
  if (response.headers.has('set-cookie')) return { storable: false, why: 'it sets a cookie' };
  const policy = new CachePolicy(
    { method: 'GET', url: url.pathname + url.search, headers: plain(requestHeaders) },
    { status: response.status, headers: plain(response.headers) },
    { shared: true },
  );
  if (policy.storable()) return { storable: true };
  const control = (response.headers.get('cache-control') ?? '').toLowerCase();
  if (/\bno-store\b/.test(control)) return { storable: false, why: 'Cache-Control: no-store' };
  if (/\bprivate\b/.test(control)) return { storable: false, why: 'Cache-Control: private' };
  if (requestHeaders.has('authorization')) return { storable: false, why: 'it answers an Authorization without Cache-Control: public' };
  return { storable: false, why: `an HTTP cache would not store a ${response.status}` };
}

function plain(headers: Headers): Record<string, string> {
  return Object.fromEntries(headers);
}
