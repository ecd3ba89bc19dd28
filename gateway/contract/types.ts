import type { EsiVariableName } from './esi-variable-names';
/**
 * The data that flows between Tessera's modules. Manifests (YAML, validated on
 * the Node side) compile into `CompiledRoute`s, which the Worker imports as a
 * JSON module; everything here is therefore plain, serialisable data.
 */

export type TemplateSource = 'params' | 'query' | 'cookie' | 'header' | 'geo' | 'segment';

export interface TemplateVariable {
  source: TemplateSource;
  name: string;
  /** Used when the request has no value; without one the src is unresolvable. */
  default?: string;
}

export type TemplatePart = string | TemplateVariable;

export interface SrcTemplate {
  raw: string;
  parts: TemplatePart[];
}

export interface FallbackSpec {
  /** Fetched when the primary src fails (like ESI's `alt`). */
  src?: SrcTemplate;
  /** Static markup used when no src delivered content. */
  html?: string;
  /** Keep the marker's own inner content (data-slot). */
  keep: boolean;
}

/** Media types a fragment may answer with; `text/plain` is inserted HTML-escaped. */
export const DEFAULT_CONTENT_TYPES = ['text/html', 'text/plain'];

export interface FragmentSpec {
  id: string;
  src: SrcTemplate;
  ttlMs: number;
  timeoutMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /** What the fragment's answer depends on, parsed from `vary:` (`cookie.session`, `segment`, …). */
  vary: TemplateVariable[];
  /** Lower-cased request header names passed to the fragment host. */
  forwardHeaders: string[];
  /** A required fragment is awaited before the status is sent; its failure fails the page. */
  required: boolean;
  fallback: FallbackSpec;
  /** Lower-cased media types accepted from the fragment host; anything else is a failure. */
  contentTypes: string[];
  /** Purge groups: purging a tag purges every fragment that carries it. */
  tags: string[];
  /** Keep the last good copy in KV too (L3), for stale-if-error in a cold data centre. */
  lastGood: boolean;
  /** `global`: misses go through a Durable Object per key, one fetch across all isolates. */
  coalesce: 'isolate' | 'global';
  /** `out-of-order`: a marker reached before the fragment settled gets a placeholder, and the page streams on. */
  placement: PlacementMode;
  /** Markup shown in the placeholder until the fragment arrives (out-of-order only). */
  placeholder?: string;
  /** The fragment is in an experiment: each visitor gets one of its arms. Absent: one fragment for everyone. */
  experiment?: ExperimentSpec;
  /** Stylesheets and scripts the fragment needs (`assets:`), beside those its `Link` header names. Absent: none declared. */
  assets?: AssetSpec[];
}

/**
 * One asset of a fragment, from the manifest's `assets:` or the fragment's
 * `Link` header: a stylesheet goes in before the fragment's markup, a script
 * after it, a hint (`modulepreload`, `preload`) before it; each once per page,
 * and each announced in the page's own `Link` header when known in time.
 */
export interface AssetSpec {
  /** As written: relative to the origin (manifest) or to the fragment's URL (Link header). */
  href: string;
  rel: AssetRel;
  /** A `preload`'s destination (`style`, `script`, `font`, `image`, `fetch`, …). */
  as?: string;
  /** A script's type: `module`, or absent for a classic script. */
  type?: string;
  crossorigin?: string;
  integrity?: string;
  /** A stylesheet's media query. */
  media?: string;
  async?: boolean;
  defer?: boolean;
}

export type AssetRel = 'stylesheet' | 'script' | 'modulepreload' | 'preload';

/**
 * A fragment in several variants (`variants:` and `experiment:`). Visitors are
 * bucketed by a hash of their id and the experiment's name; the variants take
 * the buckets in this order from the first, and the default arm (the fragment
 * as declared) takes the rest. Fragments that share an experiment's name share
 * its arms, so a page never mixes them.
 */
export interface ExperimentSpec {
  /** Its name in metrics, in the weights' KV key and in the bucket hash. */
  name: string;
  /** In manifest order. */
  variants: VariantSpec[];
}

export interface VariantSpec {
  /** The arm's name (never `default`, which is the fragment as declared). */
  name: string;
  /** Percent of bucketed visitors, 0 to 100 in steps of 0.01; the variants' sum is at most 100. */
  weight: number;
  /** The fragment as this arm renders it: the variant's own fields, the fragment's where it says nothing. */
  fields: ArmFields;
}

/** What a variant may change of its fragment; the rest (what it reads from the visitor, `required`, tags) is the fragment's. */
export type ArmFields = Pick<
  FragmentSpec,
  'src' | 'fallback' | 'ttlMs' | 'timeoutMs' | 'staleWhileRevalidateMs' | 'staleIfErrorMs' | 'placement' | 'placeholder'
>;

/** The arm every visitor gets who is not bucketed into a variant: the fragment as declared. */
export const DEFAULT_ARM = 'default';

/** Visitors a route keeps in the default arm of every experiment, unbucketed: crawlers, and visitors asking to save data. */
export type PinnedClient = 'bots' | 'save-data';

/** How a route with experiments tells visitors apart (its `assignment:` block, with defaults). */
export interface AssignmentSpec {
  /** Where the visitor id comes from first; absent, or absent from the request: Tessera's own cookie (`request/visitor-id.ts`). */
  visitorId?: SegmentSource;
  /** Who gets the default arm without being bucketed (or counted). */
  defaultFor: PinnedClient[];
}

export type PlacementMode = 'in-order' | 'out-of-order';

/** Clients that get a route's out-of-order fragments in order: crawlers, and visitors asking to save data. */
export type InOrderClient = 'bots' | 'save-data';

/** What an include that no manifest entry declares gets. */
export interface FragmentDefaults {
  ttlMs: number;
  timeoutMs: number;
  forwardHeaders: string[];
  contentTypes: string[];
}

/** How long the origin and the whole page may take; past any of them the page ends as a failure. */
export interface RouteTimeouts {
  /** Until the origin's response headers; then the client gets a 504. */
  originMs: number;
  /** The longest silence inside the origin body. */
  originIdleMs: number;
  /** From request to last byte, the client's download included. */
  pageMs: number;
}

export interface RouteLimits {
  /** Fragment fetches in flight at once per request (Workers allow 6 open connections). */
  concurrency: number;
  /** Includes processed per page, nested ones counted too; the rest render empty. */
  maxIncludes: number;
  /** How deep includes inside fragments are followed. */
  maxDepth: number;
  /** Fragment bodies above this many bytes are a failure. */
  maxFragmentBytes: number;
  /** Cached variants (distinct keys) per fragment and isolate; past it, new variants are not stored. */
  variantsPerFragment: number;
}

/** Where a route reads the user id that the SEGMENTS namespace maps to a segment name. */
export interface SegmentSource {
  source: 'cookie' | 'header';
  name: string;
}

export type EsiMode = 'auto' | 'on' | 'off';

export interface CompiledRoute {
  /** Manifest name, the file's base name. */
  name: string;
  /** Manifest path relative to the project, for messages. */
  file: string;
  /** URLPattern pathnames. */
  patterns: string[];
  /** Absent: the `ORIGIN` variable. */
  origin?: string;
  esi: EsiMode;
  /** `continue` (default): a failed include renders nothing; `fail`: one with no alt and no onerror="continue" fails the page (ESI 1.0). */
  esiErrors: 'continue' | 'fail';
  /** The ESI variables pages on this route may read; the others are empty. */
  esiVariables: EsiVariableName[];
  /** Extra origins (scheme://host:port) fragments may come from. */
  hosts: string[];
  /** For undeclared includes (declared fragments carry their own). */
  placement: PlacementMode;
  /** Who gets out-of-order fragments in document order. */
  inOrderFor: InOrderClient[];
  defaults: FragmentDefaults;
  fragments: Record<string, FragmentSpec>;
  limits: RouteLimits;
  timeouts: RouteTimeouts;
  /** Absent: the route uses no segments. */
  segment?: SegmentSource;
  onFailure: { status: number; html?: string };
  /** The `page:` block: the origin page itself is cached, in compiled form. Absent: the origin is asked on every view. */
  page?: PageCacheSpec;
  /** How visitors are assigned to arms; present exactly when a fragment of the route is in an experiment. */
  assignment?: AssignmentSpec;
  /**
   * How long a conditional request (`If-None-Match`) may wait for a cached
   * page's parts to settle, so that it can be answered 304; past it the page
   * is a 200 without an ETag. 0: only parts settled at once count.
   */
  conditionalMs: number;
}

/** How long a cached page is fresh: a fixed time, or what the origin's shared-cache headers say. */
export type PageTtl = { kind: 'fixed'; ms: number } | { kind: 'origin' };

/** A route's `page:` block (see page-cache/). */
export interface PageCacheSpec {
  ttl: PageTtl;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /**
   * What the page varies on: `cookie.X`, `header.X`, `geo.country` or
   * `segment`. Each is in the page's key, and the cookies and headers named
   * here are the only visitor credentials the origin request carries.
   */
  vary: TemplateVariable[];
  /** Keep the last good compiled page in KV too (L3), for stale-if-error in a cold data centre. */
  lastGood: boolean;
  /** Purge groups, shared with fragments' tags. */
  tags: string[];
  /** `global`: misses go through a Durable Object per key, one origin request across isolates. */
  coalesce: 'isolate' | 'global';
}

/** The compiled module the Worker imports. */
export interface CompiledManifests {
  /** COMPILED_ROUTES_VERSION (routes-version.ts), checked when the Worker starts. */
  version: 1;
  routes: CompiledRoute[];
  /** Every route pattern, most specific first, pointing into `routes`. */
  patterns: Array<{ pattern: string; route: number }>;
}

/**
 * How one fragment's primary src ended, as reported in Server-Timing: from
 * the network (`miss`), from the cache (`hit`; `stale` within its
 * stale-while-revalidate or stale-if-error window; `revalidated` when a
 * conditional request confirmed the cached copy), or not at all.
 */
export type FragmentOutcome = 'miss' | 'hit' | 'stale' | 'revalidated' | FailureOutcome;
export type FailureOutcome = 'timeout' | 'error' | 'refused';

export type ContentSource = 'src' | 'fallback-src' | 'fallback-html' | 'keep' | 'empty';

export interface FragmentResult {
  /** Fragment id, or the include's src for undeclared includes. */
  id: string;
  /** Outcome of the primary src. */
  outcome: FragmentOutcome;
  /** Where the content placed in the page came from. */
  source: ContentSource;
  /** Markup to insert; `null` keeps the marker's own content. */
  html: string | null;
  durationMs: number;
  /** Why the primary src failed, for logs and the debug view. */
  detail?: string;
  /** A stale copy served because the refresh failed (stale-if-error): how it failed. */
  staleBecause?: FailureOutcome;
  /** Fetched but not cached, and why (`it sets a cookie`), for the dev log. */
  notStored?: string;
  /** A fresh cache hit: until when it stays fresh (the cache's clock), so an assembled page built from it knows its own lifetime. */
  freshUntil?: number;
  /** The `Link` header the fragment's answer carried (its assets), and the URL that answered, which it is relative to. */
  link?: { value: string; base: string };
}

/** The attributes of an `<esi:include>`, as the assembler and the look-ahead read them. */
export interface IncludeAttributes {
  src?: string | null;
  alt?: string | null;
  id?: string | null;
  /** `continue`: a failure renders nothing and never fails the page or its esi:try. */
  onerror?: string | null;
  /** Akamai: the longest wait for this include, in milliseconds; it overrides the route's default timeout. */
  maxwait?: string | null;
  /** Akamai: how long the include may be cached (`30s`, `5m`, `0`); `no-store` keeps it out of the cache. */
  ttl?: string | null;
  'no-store'?: string | null;
}

/**
 * Content that was fetched came from the origin or a listed host (every fetch
 * and redirect passed the host policy), so the markers inside it are processed.
 * Static fallbacks are inserted as they are.
 */
export function wasFetched(result: FragmentResult): boolean {
  return result.source === 'src' || result.source === 'fallback-src';
}
