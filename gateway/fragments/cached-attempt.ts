import type { FailureOutcome } from '../contract/types';
import type { FragmentFetchResult, Validators } from '../fetch/fragment-fetch';
import type { Attempt, CachePlan, FetchContext } from './attempt';
import { type CacheKey, cacheKey } from './cache/cache-key';
import { type CachedFragment, freshness } from './cache/cached-fragment';
import type { FragmentCache } from './cache/fragment-cache';

/**
 * A cached fragment's primary src: fresh → hit; within stale-while-revalidate
 * → served stale at once, refreshed once in the background; otherwise
 * refreshed now (conditionally, when the copy has validators), and if that
 * fails a copy within stale-if-error is served before the fallback chain.
 *
 * The refresh is coalesced per key across the isolate and bounded by its own
 * timeout, not by the page that started it: other pages may be waiting on it.
 * Each waiter still has its own timeout and its own page's abort.
 */
/** How long a shared fetch may wait for one of its page's connection slots before newcomers stop joining it. */
const SLOT_ALLOWANCE_MS = 1000;

export type FetchOnce = (validators: Validators | undefined, key: string) => Promise<FragmentFetchResult>;

export async function cachedAttempt(
  context: FetchContext,
  cache: FragmentCache,
  url: URL,
  plan: CachePlan,
  timeoutMs: number,
  fetchOnce: FetchOnce,
): Promise<Attempt> {
  const key = await cacheKey({ url: url.href, varies: plan.varies, version: await plan.version }, context.host);
  const looked = await cache.lookup(key);
  // The L2 lookup is asynchronous: a fetch for this key may have finished (and
  // stored into L1, before leaving the in-flight map) while it ran.
  const cached = cache.peek(key) ?? looked;
  const state = cached ? freshness(cached, cache.now()).state : 'expired';
  if (cached && state === 'fresh') return served(cached, 'hit');

  // A fetch that has been running for twice its timeout (plus time for a slot) is not worth joining: see SharedFlights.
  const refresh = () =>
    cache.coalesce(key, 2 * timeoutMs + SLOT_ALLOWANCE_MS, context.waitUntil, () => refreshed(context, cache, key, plan, cached, fetchOnce));
  if (cached && state === 'stale-while-revalidate') {
    context.waitUntil(refresh());
    return served(cached, 'stale');
  }
  const result = await waitFor(refresh(), timeoutMs, context.signal);
  if (result.ok) return result;
  // A cold data centre has no copy in L1 or L2; the last-good copy in KV may still be in its window.
  const fallback = cached ?? (await cache.lastGood(key, plan.lastGood));
  if (!fallback || freshness(fallback, cache.now()).state === 'expired') return result;
  return { ...served(fallback, 'stale'), staleBecause: result.outcome, detail: result.detail };
}

/** `tessera-fault=…:stale`: the cached copy, whatever its age, as if a refresh had just failed. */
export async function staleCopy(context: FetchContext, cache: FragmentCache, url: URL, plan: CachePlan): Promise<Attempt> {
  const key = await cacheKey({ url: url.href, varies: plan.varies, version: await plan.version }, context.host);
  const cached = cache.peek(key) ?? (await cache.lookup(key)) ?? (await cache.lastGood(key, plan.lastGood));
  if (!cached) return { ok: false, outcome: 'error', detail: `${url.href}: stale forced by tessera-fault, and no cached copy` };
  return { ...served(cached, 'stale'), staleBecause: 'error', detail: 'stale forced by tessera-fault' };
}

async function refreshed(
  context: FetchContext,
  cache: FragmentCache,
  key: CacheKey,
  plan: CachePlan,
  cached: CachedFragment | undefined,
  fetchOnce: FetchOnce,
): Promise<Attempt> {
  const validators = cached && (cached.etag || cached.lastModified) ? { etag: cached.etag, lastModified: cached.lastModified } : undefined;
  const fetched = await fetchOnce(validators, key.id);
  if (!fetched.ok) return { ok: false, outcome: fetched.reason, detail: fetched.detail };
  if (fetched.kind === 'not-modified') {
    if (!cached) return { ok: false, outcome: 'error', detail: '304 to an unconditional request' };
    const renewed = { ...cached, storedAt: cache.now(), ttlMs: cache.jitter(plan.ttlMs) };
    cache.store(key, renewed, context.waitUntil);
    return served(renewed, 'revalidated');
  }
  const attempt: Attempt = { ok: true, html: fetched.html, esi: fetched.esi, outcome: 'miss', link: fetched.link };
  if (!fetched.cacheability.storable) return { ...attempt, notStored: fetched.cacheability.why };
  if (!cache.admit(plan.variantGroup, await plan.version, key, plan.maxVariants)) {
    return { ...attempt, notStored: `more than ${plan.maxVariants} variants of this fragment in this isolate (check its vary)` };
  }
  const entry: CachedFragment = {
    html: fetched.html,
    surrogateEsi: fetched.esi,
    storedAt: cache.now(),
    ttlMs: cache.jitter(plan.ttlMs),
    staleWhileRevalidateMs: plan.staleWhileRevalidateMs,
    staleIfErrorMs: plan.staleIfErrorMs,
    ...fetched.validators,
    link: fetched.link,
  };
  cache.store(key, entry, context.waitUntil);
  cache.keepLastGood(key, entry, plan.lastGood, context.waitUntil);
  return attempt;
}

function served(entry: CachedFragment, outcome: 'hit' | 'stale' | 'revalidated'): Extract<Attempt, { ok: true }> {
  const freshUntil = outcome === 'hit' ? entry.storedAt + entry.ttlMs : undefined;
  return { ok: true, html: entry.html, esi: entry.surrogateEsi, outcome, link: entry.link, freshUntil };
}

/** A waiter's own bound on a shared refresh: its timeout, and its page ending. */
function waitFor(shared: Promise<Attempt>, timeoutMs: number, signal: AbortSignal): Promise<Attempt> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const failed = (outcome: FailureOutcome, detail: string): Attempt => ({ ok: false, outcome, detail });
  const bounded = new Promise<Attempt>((resolve) => {
    timer = setTimeout(() => resolve(failed('timeout', `no complete response within ${timeoutMs}ms`)), timeoutMs);
    onAbort = () => resolve(failed('error', 'the page ended'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([shared, bounded]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}
