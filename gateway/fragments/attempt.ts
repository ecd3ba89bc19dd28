import type { CompiledRoute, FailureOutcome, FragmentOutcome } from '../contract/types';
import type { ConnectionSlots } from '../fetch/connection-slots';
import type { HeaderLatency } from '../fetch/header-latency';
import type { HostPolicy } from '../fetch/host-policy';
import type { FragmentObserver } from '../observe/fragment-events';
import type { TraceContext } from '../observe/trace-context';
import type { Fault } from '../request/fault-injection';
import type { FragmentCache } from './cache/fragment-cache';
import type { LastGoodLayer } from './cache/last-good-layer';

/**
 * What flows between the failure chain and each try at content: the page's
 * fetch context, a fragment's plan (its sources, fallbacks and cache plan),
 * and what one try gave.
 */
/** What every fetch of one page shares. */
export interface FetchContext {
  route: CompiledRoute;
  policy: HostPolicy;
  request: Request;
  fetch: typeof fetch;
  /** The page's connections waiting for headers; every fetch queues here. */
  slots: ConnectionSlots;
  /** The isolate's memory of how long each fragment URL takes to answer. */
  latency: HeaderLatency;
  /** The page's trace: every fragment request is a span of it. */
  trace: TraceContext;
  /** Where each fragment's lifecycle events go, timed from `began`. */
  observer: FragmentObserver;
  began: number;
  signal: AbortSignal;
  /** The isolate's fragment cache; absent, nothing is cached. */
  cache?: FragmentCache;
  /** For work that outlives the response: background refreshes, cache writes. */
  waitUntil: (work: Promise<unknown>) => void;
  /** The page's host, which names cache entries in the Cache API. */
  host: string;
  /** The Durable Object namespace behind `coalesce: global`; absent, coalescing stays per isolate. */
  coalescer?: DurableObjectNamespace;
}

/** Where a src resolved to: an allowed URL, a refused one, or nothing (a variable without a usable value). */
export type ResolvedUrl = { kind: 'allowed'; url: URL } | { kind: 'refused'; src: string } | { kind: 'unresolved'; problem: string };

export interface FailurePlan {
  /** Fragment id, or the include's src for undeclared includes. */
  id: string;
  primary: ResolvedUrl;
  /** Resolved only if the primary fails. */
  fallbackSrc?: () => ResolvedUrl;
  fallbackHtml?: string;
  keep: boolean;
  timeoutMs: number;
  forwardHeaders: readonly string[];
  contentTypes: readonly string[];
  /** Present when the primary src is cached (ttl > 0). */
  cache?: CachePlan;
  /** Its turn among queued fetches, given what is known of its URL's latency. */
  rank: (expectedMs: number | undefined) => number;
  /** The session's key for it, which its events carry. */
  key: string;
  /** An outcome forced by `tessera-fault` (dev preview of fallbacks). */
  fault?: Fault;
}

export interface CachePlan {
  /** Route and fragment (or the include's src as written), which its variant budget is kept under. */
  variantGroup: string;
  /** Past this many live variants in the isolate, new ones are not stored. */
  maxVariants: number;
  ttlMs: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /** `name=value` for everything else the answer depends on (vary entries, forwarded negotiation headers). */
  varies: string[];
  /** The fragment's and its tags' versions (read from KV at most every few seconds). */
  version: Promise<string>;
  /** L3, when the fragment opted in to a last-good copy and the namespace is bound. */
  lastGood?: LastGoodLayer;
  /** Misses go through the Durable Object for the key (`coalesce: global`). */
  global: boolean;
}

/** One try at content: a src fetched (or served from the cache), or how it failed. */
export type Attempt =
  | {
      ok: true;
      html: string;
      esi: boolean;
      outcome: Exclude<FragmentOutcome, FailureOutcome>;
      staleBecause?: FailureOutcome;
      detail?: string;
      notStored?: string;
      /** The answer's `Link` header: the fragment's assets. */
      link?: { value: string; base: string };
      /** Served fresh from the cache: until when (the cache's clock). */
      freshUntil?: number;
    }
  | { ok: false; outcome: FailureOutcome; detail: string };
