/**
 * Measured in workerd: HTMLRewriter emits its output only when it finishes an
 * *input chunk*. A page that arrives as one chunk is therefore held back in
 * full behind its first slow marker — head included. Splitting each chunk
 * just before every marker tag (`<esi:…>` or a tag carrying `data-slot`)
 * lets the rewriter flush everything up to the marker before it waits.
 */
const LT = 0x3c;
const GT = 0x3e;
const ESI = new TextEncoder().encode('<esi:');
const DATA_SLOT = new TextEncoder().encode('data-slot');

/**
 * A chunk cut just before every marker tag in it. The page lifetime's origin
 * pump writes the pieces into a native stream the rewriter reads, so cutting
 * costs no JavaScript stream stage of its own (each one costs workerd
 * throughput per chunk).
 */
export function* piecesBeforeMarkers(chunk: Uint8Array): Generator<Uint8Array> {
  let start = 0;
  for (const cut of markerOffsets(chunk)) {
    if (cut > start) yield chunk.subarray(start, cut);
    start = cut;
  }
  yield start === 0 ? chunk : chunk.subarray(start);
}

/** Offsets of the `<` of every marker tag that starts in this chunk. */
export function markerOffsets(bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  for (let lt = bytes.indexOf(LT); lt !== -1; lt = bytes.indexOf(LT, lt + 1)) {
    if (matchesAt(bytes, ESI, lt)) {
      offsets.push(lt);
      continue;
    }
    // A tag that is cut off by the chunk end still counts: the marker may start here.
    const end = bytes.indexOf(GT, lt);
    if (contains(bytes, DATA_SLOT, lt + 1, end === -1 ? bytes.length : end)) offsets.push(lt);
  }
  return offsets;
}

function matchesAt(bytes: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at + needle.length > bytes.length) return false;
  for (let i = 0; i < needle.length; i++) if ((bytes[at + i] | 0x20) !== (needle[i] | 0x20)) return false;
  return true;
}

function contains(bytes: Uint8Array, needle: Uint8Array, from: number, to: number): boolean {
  for (let i = bytes.indexOf(needle[0], from); i !== -1 && i + needle.length <= to; i = bytes.indexOf(needle[0], i + 1)) {
    if (matchesAt(bytes, needle, i)) return true;
  }
  return false;
}
