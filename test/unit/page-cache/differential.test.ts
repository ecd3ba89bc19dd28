import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { gatewayFor, upstream } from '../harness';
import { CASES, type DifferentialCase } from './corpus';

/**
 * Issue 19, point 4: every behaviour of the streamed path holds on a page
 * cache hit. Each case of the corpus is viewed twice on a route with `page:`:
 * cold (a miss: the origin's page streams through the scanner and the
 * assembling rewriter, and is stored in the background) and warm (a hit:
 * rendered from the compiled form, or the stored bytes replayed through the
 * streamed path). Both views must give the same status, the same headers
 * (Server-Timing's durations and `Date` aside) and the same bytes.
 */

/** One view, as the visitor got it. */
interface View {
  status: number;
  headers: Array<[string, string]>;
  /** The body's bytes as a Latin-1 string: one character per byte, so equal strings are equal bytes, whatever the charset. */
  body: string;
  /** The body read as UTF-8, for what the case says it shows. */
  text: string;
  /** Why the body failed, if it did (a PageAborted after the headers). */
  failure?: string;
  /** The fragment requests the view made (the origin page's aside), sorted: they start in parallel, in no fixed order. */
  fragmentUrls: string[];
  /** The trace ids those requests carried. */
  traceIds: Set<string>;
}

const LATIN1 = new TextDecoder('latin1');

/** The page's path at the origin. */
const originPath = (c: DifferentialCase) => new URL(c.path ?? '/page', 'https://shop.test').pathname;

type Net = ReturnType<typeof upstream>;

async function view(get: ReturnType<typeof gatewayFor>, net: Net, c: DifferentialCase, method = c.method ?? 'GET'): Promise<View> {
  const before = net.calls.length;
  const response = await get(c.path ?? '/page', { method, headers: c.headers });
  const chunks: Uint8Array[] = [];
  let failure: string | undefined;
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
  }
  // The background work: on the cold view, the page's copy compiled and stored.
  await response.settled();
  const body = chunks.map((chunk) => LATIN1.decode(chunk)).join('');
  const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
  const fragments = net.calls.slice(before).filter((call) => new URL(call.url).pathname !== originPath(c));
  const traceIds = new Set(fragments.map((call) => call.headers.get('traceparent')?.split('-')[1] ?? 'none'));
  return { status: response.status, headers: [...response.headers], body, text, failure, fragmentUrls: fragments.map((call) => call.url).sort(), traceIds };
}

/** A Server-Timing entry: its name and parameters (`dur`, `desc`, `cause`). */
interface TimingEntry {
  name: string;
  params: Record<string, string>;
}

function timingEntries(value: string | undefined): TimingEntry[] {
  if (!value) return [];
  return value.split(', ').map((entry) => {
    const [name, ...params] = entry.split(';');
    return { name, params: Object.fromEntries(params.map((p) => p.split('=', 2)).map(([k, v]) => [k, v?.replace(/^"|"$/g, '')])) };
  });
}

/**
 * What a view's randomness and timing leave out, each by design:
 * - out-of-order placeholder names: `tessera-` and 64 random bits, fresh in
 *   every response (so page content cannot guess them), written `tessera-R-`;
 * - the debug view's script nonce, fresh in every response, and the same
 *   nonce where its CSP lists it;
 * - the debug data's clocks and ids: durations, start offsets, the trace id
 *   (random unless the client sent one), and Server-Timing inside it (compared
 *   as a header); `originState` is checked (miss, then hit) and then left out.
 */
const PLACEHOLDER_PREFIX = /tessera-[0-9a-z]{13}-/g;
const DEBUG_NONCE = /(<script nonce="|'nonce-)[0-9a-f]{32}(["'])/g;
const DEBUG_DATA = /(<script type="application\/json" id="tessera-debug-data">)(.*?)(<\/script>)/s;
const CLOCKS = new Set(['originMs', 'totalMs', 'startAt', 'queuedMs', 'sentAt', 'responseAt', 'endAt', 'durationMs']);

function normalised(text: string, originState: string): string {
  const plain = text.replace(PLACEHOLDER_PREFIX, 'tessera-R-').replace(DEBUG_NONCE, '$1NONCE$2');
  return plain.replace(DEBUG_DATA, (_, open: string, json: string, close: string) => {
    const data = JSON.parse(json);
    expect.soft(data.originState, 'the debug data’s origin state').toBe(originState);
    delete data.originState;
    data.traceId = 'TRACE';
    data.headers = data.headers.filter(([name]: [string, string]) => name !== 'server-timing');
    return open + JSON.stringify(data, (key, value) => (CLOCKS.has(key) && typeof value === 'number' ? 0 : value)) + close;
  });
}

/** The headers to compare: all but `server-timing` (compared entry by entry), `date` and `leave`, the debug nonce written out. */
function comparable(headers: Array<[string, string]>, originState: string, leave?: string): Array<[string, string]> {
  return headers
    .filter(([name]) => name !== 'server-timing' && name !== 'date' && name !== leave)
    .map(([name, value]) => [name, normalised(value, originState)]);
}

/**
 * One header a hit may add by design (issue 22, http/page-validator.ts): a
 * compiled page whose every part is known when its headers go out gets an
 * ETag of its own, weak, over the route, the page and each marker's output. A
 * miss streams before its parts are known and never has one; whether a hit
 * has one depends on how fast its fragments settled. So the warm view may
 * carry such an ETag where the cold view has none, and only a compiled hit.
 */
const OWN_ETAG = /^W\/"[0-9a-f]{32}"$/;

function ownEtag(cold: View, warm: View, c: DifferentialCase): string | undefined {
  const etag = (v: View) => v.headers.find(([name]) => name === 'etag')?.[1];
  if (etag(cold) !== undefined || etag(warm) === undefined) return undefined;
  expect.soft(etag(warm), 'the hit’s own ETag').toMatch(OWN_ETAG);
  expect.soft(c.warm, 'only a compiled hit has its own ETag').toBe('compiled');
  return 'etag';
}

/**
 * Server-Timing, entry by entry: the origin entry says miss, then hit (by
 * design); the fragment entries are the same names in the same order, with
 * the same `desc` and `cause`. Two allowances, both timing: a fragment the
 * cold view filled the cache with is a miss there and a hit warm
 * (`filledByCold`), and a fragment that had not settled when one view's
 * headers left is `pending` there. A miss's headers leave once the origin
 * has answered, a hit's at once, so a fast fragment can have settled by the
 * one and not by the other; where both settled they must agree.
 */
function expectSameTiming(cold: View, warm: View, c: DifferentialCase): void {
  const get = (v: View) => timingEntries(v.headers.find(([name]) => name === 'server-timing')?.[1]);
  const [coldOrigin, ...coldFragments] = get(cold);
  const [warmOrigin, ...warmFragments] = get(warm);
  expect.soft([coldOrigin?.name, coldOrigin?.params.desc], 'the cold origin entry').toEqual(['origin', 'miss']);
  expect.soft([warmOrigin?.name, warmOrigin?.params.desc], 'the warm origin entry').toEqual(['origin', 'hit']);
  const names = (entries: TimingEntry[]) => entries.map((entry) => entry.name);
  expect.soft(names(warmFragments), 'the Server-Timing fragment entries').toEqual(names(coldFragments));
  if (warmFragments.length !== coldFragments.length) return;
  coldFragments.forEach((coldEntry, i) => {
    const warmEntry = warmFragments[i];
    if (coldEntry.params.desc === 'pending' || warmEntry.params.desc === 'pending') return;
    const filled = c.filledByCold?.includes(coldEntry.name);
    const expected = filled ? { desc: 'hit', cause: coldEntry.params.cause } : { desc: coldEntry.params.desc, cause: coldEntry.params.cause };
    if (filled) expect.soft(coldEntry.params.desc, `${coldEntry.name} on the cold view`).toBe('miss');
    expect.soft({ desc: warmEntry.params.desc, cause: warmEntry.params.cause }, warmEntry.name).toEqual(expected);
  });
}

describe('a page cache hit against its miss (issue 19: the differential test)', () => {
  // The dev log's line for each page (TESSERA_LOG=timing) says when a cached page was replayed through the pump, and why.
  let log: MockInstance;
  beforeEach(() => {
    log = vi.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterEach(() => {
    log.mockRestore();
  });
  const replays = () => log.mock.calls.map(([line]) => String(line)).filter((line) => line.includes('(replayed: '));

  for (const c of CASES) {
    // A case with a known difference stays in the corpus, failing as expected, until the gateway is fixed (see knownDifference).
    const test = c.knownDifference ? it.fails : it;
    test(c.name, async () => {
      const net = upstream(c.routes());
      const get = gatewayFor(net, { ...c.manifest, page: { ttl: '10m', ...c.manifest.page } }, { env: { TESSERA_LOG: 'timing', ...c.env } });
      const path = originPath(c);
      if (c.prime) await view(get, net, { ...c, path: c.prime, headers: undefined, method: undefined });
      const asked = net.requested(path).length;

      const cold = await view(get, net, c);
      expect(net.requested(path), 'the cold view asks the origin').toHaveLength(asked + 1);
      // A HEAD leaves the page uncached: a GET stores it.
      if (c.method === 'HEAD') await view(get, net, c, 'GET');
      const beforeWarm = net.requested(path).length;
      log.mockClear();

      const warm = await view(get, net, c);
      expect(net.requested(path), 'the warm view does not ask the origin').toHaveLength(beforeWarm);
      // The case does what its name says (two views equally wrong would agree).
      const shown = [normalised(cold.text, 'miss'), ...cold.headers.map(([name, value]) => `${name}: ${normalised(value, 'miss')}`)].join('\n');
      for (const part of c.shows) expect(shown, 'what the cold view shows').toContain(part);

      // Soft: a case that differs reports every way it differs, not only the first.
      expect.soft(warm.status, 'status').toBe(cold.status);
      if (c.bodyFails) expect.soft(cold.failure, 'the cold body fails').toMatch(c.bodyFails);
      expect.soft(warm.failure, 'how the body ends').toBe(cold.failure);
      expect.soft(normalised(warm.body, 'hit'), 'the body').toBe(normalised(cold.body, 'miss'));
      expect.soft(comparable(warm.headers, 'hit', ownEtag(cold, warm, c)), 'the headers').toEqual(comparable(cold.headers, 'miss'));
      if (c.method !== 'HEAD') expectSameTiming(cold, warm, c);
      // The same fragments asked for (less those the cold view cached), each a span of the view's one trace: the client's, when it sent one.
      if (c.filledByCold) expect.soft(cold.fragmentUrls, 'the fragment requests').toEqual(expect.arrayContaining(warm.fragmentUrls));
      else expect.soft(warm.fragmentUrls, 'the fragment requests').toEqual(cold.fragmentUrls);
      for (const { traceIds } of [cold, warm]) expect.soft(traceIds.size, 'one trace per view').toBeLessThanOrEqual(1);
      const clientTrace = c.headers?.traceparent?.split('-')[1];
      if (clientTrace) expect.soft([...cold.traceIds, ...warm.traceIds], 'the client trace').toEqual([clientTrace, clientTrace]);
      // Which path the hit took: the dev log names a replay (a page that failed may end before its line is logged). A case
      // written for the compiled path must stay on it, or the corpus no longer tests that path; a replayed one may move onto
      // it as the compiler learns more (it then tests it too).
      if (!c.bodyFails && c.warm !== 'replay') expect.soft(replays(), 'a compiled hit is not replayed').toEqual([]);
    });
  }
});
