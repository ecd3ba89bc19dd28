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
 * Keys already computed in this isolate, up to `max` (then forgotten all at
 * once). The same few fragments are looked up on every page, and a digest
 * costs more CPU than the memory hit it leads to. Pages keep a memo of their
 * own: a stream of distinct page URLs must not keep clearing the fragments'.
 */
export class CacheKeys {
  private readonly computed = new Map<string, Promise<CacheKey>>();

  constructor(private readonly max = 4096) {}

  key(parts: CacheKeyParts, host: string): Promise<CacheKey> {
    const text = [parts.url, ...parts.varies, `version=${parts.version}`].join('\n');
    const memo = `${host}\n${text}`;
    let key = this.computed.get(memo);
    if (!key) {
      if (this.computed.size >= this.max) this.computed.clear();
      key = digestKey(text, host);
      this.computed.set(memo, key);
    }
    return key;
  }
}

const fragmentKeys = new CacheKeys();

/** A fragment's key (through the isolate's memo of fragment keys). */
export function cacheKey(parts: CacheKeyParts, host: string): Promise<CacheKey> {
  return fragmentKeys.key(parts, host);
}

async function digestKey(text: string, host: string): Promise<CacheKey> {
  const id = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
  return { id, url: `https://${host}/__tessera/fragment-cache/${id}` };
}
