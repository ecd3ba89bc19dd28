import type { IncludeAttributes } from '../contract/types';
import { keptWhole } from '../lib/chunk-reader';
import { randomToken } from '../lib/random-token';
import { hasEsiLanguage } from './esi-stream';
import { BODY_END, MarkupScanner, type Piece } from './markup-scanner';
import { OpenElements, type Sighting } from './open-elements';
import { readIncludeAttributes } from './page-esi';

/**
 * A page compiled once, for the page cache: its bytes as the origin sent
 * them, and where in them the markers are. A cached view writes the bytes
 * between markers as they are and renders only the markers, with no rewriter
 * or scanner pass over the rest (Varnish parses ESI once at fetch time in the
 * same spirit).
 *
 * Some pages cannot be cut this way and keep `replay`: their bytes go through
 * the streamed path on every view (still without the origin). Those are pages
 * with ESI language beyond includes (what `<esi:choose>` or `$(…)` leave
 * depends on the visitor), includes the rewriter cannot see (inside a script
 * or style), markers inside a slot's own content, slots on elements that hold
 * no content, and pages in a charset other than UTF-8.
 */
export interface CompiledMarkup {
  kind: 'compiled';
  /** The origin's bytes, unchanged. */
  bytes: Uint8Array;
  cut: /** `headEnd`: where `</head>` starts, when the page has one: what goes in the head goes there (the route's declared stylesheets). */
  { kind: 'markers'; markers: Marker[]; outOfOrder?: OutOfOrderMap; headEnd?: number } | { kind: 'replay'; why: string };
}

/**
 * A page as a miss keeps it: the chunks its body was read in (views of the
 * reader's buffers, lib/chunk-reader.ts), joined and compiled when it is
 * first served again. A miss then costs no more than an uncached page, and
 * a page viewed once is never joined nor compiled.
 */
export interface PendingMarkup {
  kind: 'pending';
  chunks: readonly Uint8Array[];
}

/** A cached page's markup: compiled, or not yet. */
export type StoredMarkup = CompiledMarkup | PendingMarkup;

/** A page's bytes however its markup is kept (joined, for a pending one). */
export function markupBytes(markup: StoredMarkup): Uint8Array {
  return markup.kind === 'compiled' ? markup.bytes : keptWhole(markup.chunks);
}

/**
 * What an out-of-order view of the page needs to know about where things
 * stand, found once by the markup scanner following the open elements (as
 * the pump would on every view): where each marker was seen, the points
 * between markers where templates may go, and where `</body>` is.
 */
export interface OutOfOrderMap {
  /** Per marker, in document order. */
  sightings: Sighting[];
  /** At each marker's edges: whether markup may go in there, and the element it would be a child of (OpenElements.current). */
  points: Array<{ at: number; safe: boolean; current: number }>;
  /** The first `</body>`, where the page's end is held until no template is owed; the page's length without one. */
  bodyEnd: number;
}

/** A marker and the bytes it stands for, in document order. */
export type Marker =
  /** `inner`: the content between the element's start and end tags, which the fragment replaces (or which stays). */
  | { kind: 'slot'; id: string; inner: ByteRange }
  /** `tag`: the `<esi:include>` tag itself, which the fragment replaces. */
  | { kind: 'include'; include: IncludeAttributes; tag: ByteRange };

export interface ByteRange {
  start: number;
  end: number;
}

/** Sentinel kinds: a slot's content starts / ends, an include tag starts / ends. */
type Edge = 'S' | 'E' | 'I' | 'J' | 'H';
const LATIN1 = new TextDecoder('latin1');

/**
 * Runs the page once through a rewriter with the assembler's selectors
 * (`[data-slot]`, and `esi:include` on an ESI page), which writes a sealed
 * sentinel at each marker's edges; the sentinels' positions are the markers'
 * byte ranges. The page without its sentinels must be the origin's bytes
 * exactly, or the page is replayed instead.
 */
export async function compileMarkup(bytes: Uint8Array, contentType: string | null, esi: boolean, outOfOrder = false): Promise<CompiledMarkup> {
  const replay = (why: string): CompiledMarkup => ({ kind: 'compiled', bytes, cut: { kind: 'replay', why } });
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return replay(`its charset is ${charset}`);
  const text = LATIN1.decode(bytes);
  if (esi && hasEsiLanguage(text)) return replay('it holds ESI language beyond includes, which renders per visitor');

  const seal = `\u0001${randomToken()}`;
  const sentinel = (edge: Edge, index: number) => `${seal}${edge}${index}\u0002`;
  const slots: string[] = [];
  const includes: IncludeAttributes[] = [];
  const rewriter = new HTMLRewriter().on('[data-slot]', {
    element(element) {
      const index = slots.push(element.getAttribute('data-slot') ?? '') - 1;
      try {
        element.prepend(sentinel('S', index), { html: true });
        element.append(sentinel('E', index), { html: true });
      } catch {
        // An element that holds no content: the missing sentinels send the page to replay.
      }
    },
  });
  // The first `</head>`, as the assembling rewriter's `head` handler finds it.
  let heads = 0;
  rewriter.on('head', {
    element(element) {
      if (heads++ === 0) element.onEndTag((end) => void end.before(sentinel('H', 0), { html: true }));
    },
  });
  if (esi) {
    rewriter.on('esi\\:include', {
      element(element) {
        const index = includes.push(readIncludeAttributes((name) => element.getAttribute(name))) - 1;
        element.before(sentinel('I', index), { html: true });
        element.after(sentinel('J', index), { html: true });
      },
    });
  }
  const headers = contentType ? { 'content-type': contentType } : undefined;
  const output = LATIN1.decode(await new Response(rewriter.transform(new Response(bytes, { headers })).body).arrayBuffer());

  // Walk the sentinels: `at` maps a position in the output to one in the origin's bytes.
  const edges: Array<{ edge: Edge; index: number; at: number }> = [];
  const plain: string[] = [];
  let removed = 0;
  let from = 0;
  for (let found = output.indexOf(seal); found !== -1; found = output.indexOf(seal, from)) {
    const close = output.indexOf('\u0002', found);
    plain.push(output.slice(from, found));
    edges.push({ edge: output[found + seal.length] as Edge, index: Number(output.slice(found + seal.length + 1, close)), at: found - removed });
    removed += close + 1 - found;
    from = close + 1;
  }
  plain.push(output.slice(from));
  if (plain.join('') !== text) return replay('the rewriter changed its bytes');

  const markers: Marker[] = [];
  let open: { id: string; start: number } | undefined;
  let pendingInclude: { index: number; start: number } | undefined;
  let headEnd: number | undefined;
  for (const { edge, index, at } of edges) {
    if (edge === 'H') {
      headEnd ??= at;
      continue;
    }
    if (edge === 'S') {
      if (open || pendingInclude) return replay('a marker sits inside a slot');
      open = { id: slots[index], start: at };
    } else if (edge === 'E') {
      if (!open) return replay('a slot is not well formed');
      markers.push({ kind: 'slot', id: open.id, inner: { start: open.start, end: at } });
      open = undefined;
    } else if (edge === 'I') {
      if (open) return replay('an include sits inside a slot');
      pendingInclude = { index, start: at };
    } else {
      if (!pendingInclude) return replay('an include is not well formed');
      markers.push({ kind: 'include', include: includes[pendingInclude.index], tag: { start: pendingInclude.start, end: at } });
      pendingInclude = undefined;
    }
  }
  // A slot on an element with no content (`<img data-slot>`) gets no sentinels: the rewriter cannot fill it either.
  if (open || pendingInclude || markers.length !== slots.length + includes.length) return replay('a slot is on an element that holds no content');
  if (esi && outsideMarkers(text, markers).some((run) => /<esi:include\b/i.test(run))) {
    return replay('an include sits where the rewriter cannot see it (a script, a style or a comment)');
  }
  return { kind: 'compiled', bytes, cut: { kind: 'markers', markers, outOfOrder: outOfOrder ? outOfOrderMap(bytes, markers, esi) : undefined, headEnd } };
}

/**
 * The scanner over the page, in pieces cut at every marker's edges, with the
 * open elements followed as on an out-of-order view. `undefined` when what it
 * saw does not line up with the markers (then out-of-order views replay).
 */
function outOfOrderMap(bytes: Uint8Array, markers: Marker[], esi: boolean): OutOfOrderMap | undefined {
  const elements = new OpenElements();
  const sightings: Sighting[] = [];
  const sighted = () => {
    sightings.push({ placeable: elements.placementSafe, scope: elements.scope });
    return true;
  };
  const scanner = new MarkupScanner({ include: sighted, slot: sighted, waiting: () => true, inline: async () => new Uint8Array() }, esi, elements);
  const edges = [...new Set(markers.flatMap((m) => (m.kind === 'slot' ? [m.inner.start, m.inner.end] : [m.tag.start, m.tag.end])))].sort((a, b) => a - b);
  const points: OutOfOrderMap['points'] = [];
  let bodyEnd: number | undefined;
  let emitted = 0;
  const follow = (pieces: Piece[]) => {
    for (const piece of pieces) {
      if (piece === BODY_END) bodyEnd ??= emitted;
      else if (piece instanceof Uint8Array) emitted += piece.byteLength;
      else return false; // an include inlined into raw text: not a compiled page
    }
    return true;
  };
  let from = 0;
  for (const edge of edges) {
    if (!follow(scanner.pieces(bytes.subarray(from, edge)))) return undefined;
    points.push({ at: edge, safe: scanner.atSafePoint, current: elements.current });
    from = edge;
  }
  if (!follow(scanner.pieces(bytes.subarray(from))) || !follow(scanner.end())) return undefined;
  if (sightings.length !== markers.length || emitted !== bytes.byteLength) return undefined;
  return { sightings, points, bodyEnd: bodyEnd ?? bytes.byteLength };
}

/** The text between markers (include tags and slot contents left out). */
function outsideMarkers(text: string, markers: Marker[]): string[] {
  const runs: string[] = [];
  let at = 0;
  for (const marker of markers) {
    const range = marker.kind === 'slot' ? marker.inner : marker.tag;
    runs.push(text.slice(at, range.start));
    at = range.end;
  }
  runs.push(text.slice(at));
  return runs;
}
