import { hex } from '../../lib/hex';

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

/**
 * Keys already computed in this isolate. The same few fragments are looked up
 * on every page, and a digest costs more CPU than the memory hit it leads to.
 */
const computed = new Map<string, Promise<CacheKey>>();
const MAX_COMPUTED = 4096;

export function cacheKey(parts: CacheKeyParts, host: string): Promise<CacheKey> {
  const text = [parts.url, ...parts.varies, `version=${parts.version}`].join('\n');
  const memo = `${host}\n${text}`;
  let key = computed.get(memo);
  if (!key) {
    if (computed.size >= MAX_COMPUTED) computed.clear();
    key = digestKey(text, host);
    computed.set(memo, key);
  }
  return key;
}

async function digestKey(text: string, host: string): Promise<CacheKey> {
  const id = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
  return { id, url: `https://${host}/__tessera/fragment-cache/${id}` };
}
