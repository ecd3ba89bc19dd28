import type { Fault } from '../debug/fault-injection';
import type { FragmentObserver } from '../observe/fragment-events';
import type { TraceContext } from '../observe/trace-context';
import type { ConnectionSlots } from '../page/connection-slots';
import type { CompiledRoute, FailureOutcome, FragmentOutcome, FragmentResult } from '../types';
import { cachedAttempt, staleCopy } from './cache/cached-attempt';
import type { FragmentCache } from './cache/fragment-cache';
import { type CoalescedFetch, fetchThroughCoalescer } from './cache/global-coalescer';
import type { LastGoodLayer } from './cache/last-good-layer';
import { type FragmentFetchResult, fetchFragment, type Validators } from './fragment-fetch';
import type { HeaderLatency } from './header-latency';
import type { HostPolicy } from './host-policy';

/**
 * One fragment's way to content, its failure chain: src → fallback src (or
 * the include's `alt`) → fallback html → keep the marker's content → empty.
 * Only the network fetch holds a concurrency slot, so a fragment waiting on
 * its nested includes never starves them.
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

/** A fragment that has settled, before the markers inside it are filled. */
export interface SettledFragment {
  result: FragmentResult;
  /** The fragment host opted in to ESI with its own Surrogate-Control. */
  surrogateEsi: boolean;
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
    }
  | { ok: false; outcome: FailureOutcome; detail: string };

export async function runFailureChain(context: FetchContext, plan: FailurePlan): Promise<SettledFragment> {
  const began = Date.now();
  const { id } = plan;
  const first = await attempt(context, plan.primary, plan, plan.cache, true);
  if (first.ok) return delivered(id, first, 'src', first.outcome, first.detail, began);

  let detail = first.detail;
  if (plan.fallbackSrc) {
    const second = await attempt(context, plan.fallbackSrc(), plan, undefined, false);
    if (second.ok) return delivered(id, second, 'fallback-src', first.outcome, detail, began);
    detail += `; fallback: ${second.detail}`;
  }
  const ms = Date.now() - began;
  const settled = (result: FragmentResult): SettledFragment => ({ result, surrogateEsi: false });
  if (plan.fallbackHtml !== undefined) return settled({ ...chainFailure(id, first.outcome, 'fallback-html', detail, ms), html: plan.fallbackHtml });
  if (plan.keep) return settled({ ...chainFailure(id, first.outcome, 'keep', detail, ms), html: null });
  return settled(chainFailure(id, first.outcome, 'empty', detail, ms));
}

async function attempt(context: FetchContext, target: ResolvedUrl, plan: FailurePlan, caching: CachePlan | undefined, primary: boolean): Promise<Attempt> {
  switch (target.kind) {
    case 'unresolved':
      return { ok: false, outcome: 'error', detail: target.problem };
    case 'refused':
      return { ok: false, outcome: 'refused', detail: `${target.src} is not the origin or a listed host` };
    case 'allowed': {
      const { url } = target;
      if (plan.fault && primary) {
        // Forced for the primary src only, so the fallback chain after it runs for real.
        if (plan.fault === 'stale' && caching && context.cache) return staleCopy(context, context.cache, url, caching);
        const outcome = plan.fault === 'stale' ? 'error' : plan.fault;
        return { ok: false, outcome, detail: `${url.href}: ${plan.fault} forced by tessera-fault` };
      }
      if (caching && context.cache) {
        // Shared with other pages, so bounded by its own timeout, not this page's signal.
        const { coalescer } = context;
        const direct = (validators: Validators | undefined) => fetchOne(context, url, plan, undefined, validators, true);
        const fetchOnce =
          caching.global && coalescer
            ? async (validators: Validators | undefined, key: string) => {
                // Not this page's signal: other pages may be waiting on this fetch (see SharedFlights).
                const through = await context.slots.send(
                  () => plan.rank(context.latency.expected(url.href)),
                  new AbortController().signal,
                  () => fetchThroughCoalescer(coalescer, coalescedJob(context, url, plan, key, validators)),
                );
                // Outside the slot: the direct fetch queues for one of its own.
                return through ?? direct(validators);
              }
            : direct;
        return cachedAttempt(context, context.cache, url, caching, plan.timeoutMs, fetchOnce);
      }
      const fetched = await fetchOne(context, url, plan, context.signal, undefined, false);
      if (!fetched.ok) return { ok: false, outcome: fetched.reason, detail: fetched.detail };
      if (fetched.kind === 'not-modified') return { ok: false, outcome: 'error', detail: `${url.href}: 304 to an unconditional request` };
      return { ok: true, html: fetched.html, esi: fetched.esi, outcome: 'miss' };
    }
  }
}

async function fetchOne(
  context: FetchContext,
  url: URL,
  plan: FailurePlan,
  signal: AbortSignal | undefined,
  validators: Validators | undefined,
  forCache: boolean,
): Promise<FragmentFetchResult> {
  const fetched = await fetchFragment(url, {
    fetch: context.fetch,
    timeoutMs: plan.timeoutMs,
    maxBytes: context.route.limits.maxFragmentBytes,
    headers: fragmentHeaders(context.request, plan.forwardHeaders, context.trace),
    signal,
    allowRedirect: (location) => context.policy.resolve(location.href) !== undefined,
    contentTypes: plan.contentTypes,
    validators,
    judgeCacheability: forCache,
    slot: async (abort) => {
      const waits = context.slots.full;
      const asked = Date.now();
      const release = await context.slots.acquire(() => plan.rank(context.latency.expected(url.href)), abort);
      const sent = Date.now();
      const event = { key: plan.key, fragment: plan.id, at: sent - context.began };
      if (waits) context.observer.event({ type: 'queued', ...event, at: asked - context.began, waitedMs: sent - asked });
      context.observer.event({ type: 'sent', ...event, url: url.href });
      return () => {
        context.latency.record(url.href, Date.now() - sent);
        release();
      };
    },
    onResponse: (target, status) =>
      context.observer.event({ type: 'response', key: plan.key, fragment: plan.id, at: Date.now() - context.began, url: target.href, status }),
  });
  return fetched.ok ? fetched : { ...fetched, detail: `${url.href}: ${fetched.detail}` };
}

function delivered(
  id: string,
  delivery: Extract<Attempt, { ok: true }>,
  source: 'src' | 'fallback-src',
  outcome: FragmentOutcome,
  detail: string | undefined,
  began: number,
): SettledFragment {
  const { staleBecause, notStored } = delivery;
  return {
    surrogateEsi: delivery.esi,
    result: { id, outcome, source, html: delivery.html, durationMs: Date.now() - began, detail, staleBecause, notStored },
  };
}

function coalescedJob(context: FetchContext, url: URL, plan: FailurePlan, key: string, validators: Validators | undefined): CoalescedFetch {
  return {
    key,
    url: url.href,
    origin: context.policy.origin,
    hosts: context.route.hosts,
    headers: [...fragmentHeaders(context.request, plan.forwardHeaders, context.trace)],
    timeoutMs: plan.timeoutMs,
    maxBytes: context.route.limits.maxFragmentBytes,
    contentTypes: [...plan.contentTypes],
    validators,
  };
}

function fragmentHeaders(request: Request, forward: readonly string[], trace: TraceContext): Headers {
  const headers = new Headers({ accept: 'text/html', 'surrogate-capability': 'tessera="ESI/1.0"' });
  for (const name of forward) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  // Each fragment request is a span of the page's trace.
  for (const [name, value] of trace.headersForSpan()) headers.set(name, value);
  return headers;
}

export function chainFailure(id: string, outcome: FragmentOutcome, source: FragmentResult['source'], detail: string, durationMs: number): FragmentResult {
  return { id, outcome, source, html: '', durationMs, detail };
}

/**
 * Content that was fetched came from the origin or a listed host (every fetch
 * and redirect passed the host policy), so the markers inside it are processed.
 * Static fallbacks are inserted as they are.
 */
export function wasFetched(result: FragmentResult): boolean {
  return result.source === 'src' || result.source === 'fallback-src';
}
