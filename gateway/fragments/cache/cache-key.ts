/**
 * The coalesced cache key: a SHA-256 over everything the fragment's answer
 * may depend on. Two routes or two requests that resolve to the same key share
 * one entry and one in-flight fetch.
 */
export interface CacheKeyParts {
  /** The resolved src URL. */
  url: string;
  /** `name=value` for each `vary` entry and each forwarded negotiation header. */
  varies: string[];
  /** The fragment's current version: bumping it is a purge. */
  version: string;
}

export interface CacheKey {
  /** Hex digest, the key in memory. */
  id: string;
  /** The same key as a URL, for the Cache API. */
  url: string;
}

export async function cacheKey(parts: CacheKeyParts, host: string): Promise<CacheKey> {
  const text = [parts.url, ...parts.varies, `version=${parts.version}`].join('\n');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  const id = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return { id, url: `https://${host}/__tessera/fragment-cache/${id}` };
}
