import { parseUrl } from '../lib/parse-url';

/**
 * Which URLs a fragment may be fetched from: the route's origin and the hosts
 * its manifest lists, compared as whole origins (scheme, host and port). Any
 * other address — public, private, loopback or link-local — is refused, which
 * is what keeps a templated `src` from becoming an SSRF vector.
 */
export class HostPolicy {
  private readonly allowed: Set<string>;

  constructor(
    readonly origin: string,
    hosts: readonly string[],
  ) {
    this.allowed = new Set([new URL(origin).origin, ...hosts]);
  }

  /** Resolves `src` against `base` (the origin unless given: RFC 3986); `undefined` when it is not allowed. */
  resolve(src: string, base: string = this.origin): URL | undefined {
    const url = parseUrl(src, base);
    if (!url) return undefined;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    if (url.username || url.password) return undefined;
    return this.allowed.has(url.origin) ? url : undefined;
  }
}
