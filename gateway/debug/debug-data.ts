import type { CompiledRoute, FragmentResult, PlacementMode } from '../contract/types';
import type { FragmentEvent, FragmentSpan } from '../observe/fragment-events';
import { specForArm } from '../request/experiment-assignment';

/**
 * What the debug view shows, written at the end of the page's body (the page
 * streams before its fragments finish, so nothing earlier could hold it).
 */
export interface DebugData {
  path: string;
  traceId: string;
  originMs: number;
  /** Where the page came from on a route with `page:` (hit, miss, stale, revalidated). */
  originState?: string;
  totalMs: number;
  route: Pick<CompiledRoute, 'name' | 'file' | 'patterns' | 'esi' | 'esiErrors' | 'limits' | 'timeouts'> & { fragments: Record<string, unknown> };
  /** The response headers the gateway sent. */
  headers: Array<[string, string]>;
  fragments: DebugFragment[];
  /** What the gateway has to tell about the request: a fault switch that names nothing, say. */
  notes: string[];
}

/** A fragment's span in the page timeline, with its result told as the overlay shows it. */
export interface DebugFragment extends Omit<FragmentSpan, 'result'> {
  /** Where the content came from, as the label says it. */
  label: string;
  outcome?: string;
  source?: string;
  detail?: string;
  durationMs?: number;
  /** Each request made for it, the primary src first (a fallback src is a second): the URL as resolved, and its status. None for a cache hit. */
  requests: Array<{ url: string; status?: number }>;
  /** UTF-8 bytes of the markup it placed; absent when the marker's own content stayed (or it is pending). */
  bytes?: number;
  /** How long the manifest lets it live in the fragment cache (an include's own `ttl` attribute aside); 0: never stored. */
  ttlMs: number;
  /** Fetched but not stored in the cache, and why. */
  notStored?: string;
  /** Its placement mode on this page (the manifest's, or `tessera-placement`'s), and whether it declares a placeholder. */
  placement: PlacementMode;
  placeholder: boolean;
  /** A fragment in an experiment: the page's arm, how it was given, and whether it was an exposure. */
  experiment?: DebugExperiment;
  /** Its stylesheets and scripts (declared, from its Link header, in its markup): placed, left out as a duplicate (and who had it), or refused. */
  assets?: DebugAsset[];
}

/** What became of one of a fragment's assets on this page (assemble/page-assets.ts decides). */
export interface DebugAsset {
  fragment: string;
  href: string;
  rel: string;
  from: 'manifest' | 'link' | 'markup';
  state: 'placed' | 'duplicate' | 'refused';
  /** A duplicate: the fragment that placed it first, or `page` for the page's own markup. */
  by?: string;
  /** A refusal: why. */
  note?: string;
}

export interface DebugExperiment {
  name: string;
  arm: string;
  /** `bucketed` (with the bucket, 0–9999), `forced` by tessera-variant, or `pinned` to the default arm (and why). */
  assigned: string;
  /** `exposure` (counted), `fallback` (shown, not an exposure), `not counted` (forced or pinned), `not placed` (no marker reached). */
  exposure: string;
}

const encoder = new TextEncoder();

/** What the page tells its debug view once it has been assembled. */
export interface DebugPage {
  url: URL;
  traceId: string;
  originMs: number;
  originState?: string;
  totalMs: number;
  route: CompiledRoute;
  headers: Headers;
  spans: FragmentSpan[];
  /** Every asset decision of the page, in the order made. */
  assets?: readonly DebugAsset[];
}

export function debugData(
  input: DebugPage & {
    notes?: string[];
    /** The page's fragment events, for what spans leave out: each request's URL and status. */
    events?: readonly FragmentEvent[];
    /** `tessera-placement`, which overrides every fragment's. */
    placement?: PlacementMode;
  },
): DebugData {
  const { route } = input;
  const requests = new Map<string, Array<{ url: string; status?: number }>>();
  for (const event of input.events ?? []) {
    if (event.type !== 'sent' && event.type !== 'response') continue;
    const list = requests.get(event.key) ?? [];
    requests.set(event.key, list);
    if (event.type === 'sent') list.push({ url: event.url });
    else {
      const open = list.filter((r) => r.url === event.url && r.status === undefined).at(-1);
      if (open) open.status = event.status;
      else list.push({ url: event.url, status: event.status });
    }
  }
  return {
    path: input.url.pathname,
    traceId: input.traceId,
    originMs: input.originMs,
    originState: input.originState,
    totalMs: input.totalMs,
    route: {
      name: route.name,
      file: route.file,
      patterns: route.patterns,
      esi: route.esi,
      esiErrors: route.esiErrors,
      limits: route.limits,
      timeouts: route.timeouts,
      fragments: Object.fromEntries(
        Object.entries(route.fragments).map(([id, f]) => [id, { src: f.src.raw, ttlMs: f.ttlMs, timeoutMs: f.timeoutMs, required: f.required }]),
      ),
    },
    headers: [...input.headers],
    fragments: input.spans.map(({ result, ...span }) => {
      // Declared fragments are named by id (as this page's arm renders them); an undeclared include by its src, with the route's defaults.
      const declared = Object.hasOwn(route.fragments, span.fragment) ? route.fragments[span.fragment] : undefined;
      const spec = declared && span.arm ? specForArm(declared, span.arm.assignment.arm) : declared;
      return {
        ...span,
        label: label(result),
        outcome: result?.outcome,
        source: result?.source,
        detail: result?.detail,
        durationMs: result?.durationMs,
        requests: requests.get(span.key) ?? [],
        bytes: typeof result?.html === 'string' ? encoder.encode(result.html).byteLength : undefined,
        ttlMs: spec ? spec.ttlMs : route.defaults.ttlMs,
        notStored: result?.notStored,
        placement: input.placement ?? spec?.placement ?? route.placement,
        placeholder: spec?.placeholder !== undefined,
        experiment: span.arm && debugExperiment(span.arm),
        assets: assetsOf(input.assets, span.fragment),
      };
    }),
    notes: input.notes ?? [],
  };
}

/** A fragment's asset decisions; an asset decided twice the same way (a fragment placed twice) is told once. */
function assetsOf(assets: readonly DebugAsset[] | undefined, fragment: string): DebugAsset[] | undefined {
  const mine = new Map<string, DebugAsset>();
  for (const asset of assets ?? []) if (asset.fragment === fragment) mine.set(`${asset.state}\n${asset.rel}\n${asset.href}\n${asset.by}`, asset);
  return mine.size ? [...mine.values()] : undefined;
}

function debugExperiment({ assignment, exposed }: NonNullable<FragmentSpan['arm']>): DebugExperiment {
  const assigned =
    assignment.kind === 'bucketed'
      ? `bucketed (bucket ${assignment.bucket} of 10000)`
      : assignment.kind === 'forced'
        ? 'forced by tessera-variant'
        : `pinned to the default arm (${assignment.why})`;
  const exposure =
    exposed === undefined ? 'not placed' : !exposed ? 'fallback: not an exposure' : assignment.kind === 'bucketed' ? 'exposure' : 'shown, not counted';
  return { name: assignment.experiment, arm: assignment.arm, assigned, exposure };
}

/** src, cache hit, stale, revalidated, fallback src, fallback html, keep or empty; with the cause of a fallback. */
function label(result: FragmentResult | undefined): string {
  if (!result) return 'pending';
  if (result.source === 'src') {
    const from = { hit: 'cache hit', stale: 'stale', revalidated: 'revalidated' }[result.outcome as string] ?? 'src';
    return result.staleBecause ? `${from} (${result.staleBecause})` : from;
  }
  const from = { 'fallback-src': 'fallback src', 'fallback-html': 'fallback html', keep: 'keep', empty: 'empty' }[result.source];
  return `${from} (${result.outcome})`;
}

/** The data as the text of a `<script type="application/json">`: nothing in it can end the element. */
export function embedJson(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
