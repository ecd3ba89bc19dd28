import type { FreshnessWindow } from '../fragments/cache/cached-fragment';
import { heldBytes } from '../lib/chunk-reader';
import type { CompiledMarkup, StoredMarkup } from '../markup/page-compiler';

/**
 * A page as the page cache holds it: the origin's status and headers, its
 * compiled markup, and Tessera's own freshness metadata (the Cache API
 * ignores stale-while-revalidate and stale-if-error, so Tessera keeps and
 * evaluates them itself, as it does for fragments).
 */
export interface CachedPage extends FreshnessWindow {
  status: number;
  statusText: string;
  /** The origin's response headers, as the assembled page's headers are computed from them on every view. */
  headers: Array<[string, string]>;
  markup: StoredMarkup;
  /** SHA-256 of the page's bytes (hex), which the assembled page's ETag is computed from (http/page-validator.ts); made with the compiled form. */
  digest: string;
  /** Validators for a conditional refresh. */
  etag?: string;
  lastModified?: string;
}

/** The page's origin response as the rest of the page's assembly reads it, as if the origin had just sent its headers (the bytes stay in `markup`). */
export function originHead(page: CachedPage): Response {
  return new Response(null, { status: page.status, statusText: page.statusText, headers: page.headers });
}

/** Approximate bytes in memory, for the L1 bound shared with fragments. */
export function sizeInMemory(page: CachedPage): number {
  const { markup } = page;
  const cut = markup.kind === 'compiled' ? markup.cut : undefined;
  // A marker's record, and on an out-of-order route its sighting and its two edges.
  const markers = cut?.kind === 'markers' ? cut.markers.length * (cut.outOfOrder ? 2 : 1) : 0;
  const headers = page.headers.reduce((sum, [name, value]) => sum + 2 * (name.length + value.length) + 32, 0);
  // A pending page's chunks hold the read buffers they are views of, whole, and each its own typed array and buffer (about 200 B in V8).
  const bytes = markup.kind === 'compiled' ? markup.bytes.byteLength : heldBytes(markup.chunks) + 200 * markup.chunks.length;
  // The fixed part is what the isolate holds per page beyond these (measured by npm run bench:memory: about 4 KB).
  return bytes + headers + 160 * markers + 4096;
}

/**
 * One entry as bytes, for the Cache API (L2) and KV (L3): a 4-byte length,
 * the metadata as JSON, then the page's bytes. The metadata can be large (a
 * page with many markers), so it rides in the body rather than in a header.
 * A Blob: its parts are joined natively, when it is read, not copied here.
 */
export function serialisePage(page: CachedPage): Blob {
  const { markup, ...rest } = page;
  const cut = markup.kind === 'compiled' ? markup.cut : { kind: 'pending' };
  const meta = new TextEncoder().encode(JSON.stringify({ ...rest, cut }));
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, meta.byteLength);
  return new Blob([length, meta, ...(markup.kind === 'compiled' ? [markup.bytes] : markup.chunks)]);
}

export function deserialisePage(data: ArrayBuffer): CachedPage | undefined {
  if (data.byteLength < 4) return undefined;
  const length = new DataView(data).getUint32(0);
  if (4 + length > data.byteLength) return undefined;
  try {
    const { cut, ...rest } = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, length))) as Omit<CachedPage, 'markup'> & {
      cut: CompiledMarkup['cut'] | { kind: 'pending' };
    };
    // Copied out: a view would keep the metadata's bytes alive beside the page, uncounted by the memory bound.
    const bytes = new Uint8Array(data, 4 + length).slice();
    return { ...rest, markup: cut.kind === 'pending' ? { kind: 'pending', chunks: [bytes] } : { kind: 'compiled', bytes, cut } };
  } catch {
    return undefined;
  }
}
