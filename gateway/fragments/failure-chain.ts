import type { SettledFragment } from '../contract/fragment-source';
import type { FragmentOutcome, FragmentResult } from '../contract/types';
import { type FragmentFetchResult, fetchFragment, type Validators } from '../fetch/fragment-fetch';
import type { TraceContext } from '../observe/trace-context';
import type { Attempt, CachePlan, FailurePlan, FetchContext, ResolvedUrl } from './attempt';
import { type CoalescedFetch, fetchThroughCoalescer } from './cache/global-coalescer';
import { cachedAttempt, staleCopy } from './cached-attempt';

/**
 * One fragment's way to content, its failure chain: src → fallback src (or
 * the include's `alt`) → fallback html → keep the marker's content → empty.
 * Only the network fetch holds a concurrency slot, so a fragment waiting on
 * its nested includes never starves them.
 */

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
      return { ok: true, html: fetched.html, esi: fetched.esi, outcome: 'miss', link: fetched.link };
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
  const { staleBecause, notStored, link, freshUntil } = delivery;
  return {
    surrogateEsi: delivery.esi,
    result: { id, outcome, source, html: delivery.html, durationMs: Date.now() - began, detail, staleBecause, notStored, link, freshUntil },
  };
}

function coalescedJob(context: FetchContext, url: URL, plan: FailurePlan, key: string, validators: Validators | undefined): CoalescedFetch {
  return {
    kind: 'fragment',
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
