import type pLimit from 'p-limit';
import { type FragmentFetchResult, fetchFragment } from './fragment-fetch';
import type { HostPolicy } from './host-policy';
import type { CompiledRoute, FragmentOutcome, FragmentResult } from './types';

/**
 * One fragment's way to content: src → fallback src (or the include's `alt`)
 * → fallback html → keep the marker's content → empty. Only the network fetch
 * holds a concurrency slot, so a fragment waiting on its nested includes
 * never starves them.
 */

export interface ChainContext {
  route: CompiledRoute;
  policy: HostPolicy;
  request: Request;
  fetch: typeof fetch;
  limit: ReturnType<typeof pLimit>;
  signal: AbortSignal;
  /** Whether the page itself had ESI processing switched on. */
  pageEsi: () => boolean;
}

/** Where a src resolved to: an allowed URL, a refused one, or nothing (missing variable). */
export interface ResolvedUrl {
  url?: URL;
  refused?: string;
  unresolved?: string;
}

export interface ChainPlan {
  timeoutMs: number;
  forwardHeaders: readonly string[];
  contentTypes: readonly string[];
  fallbackHtml?: string;
  keep: boolean;
}

/** A fetched fragment before the markers inside it are filled. */
export interface RawFragment {
  result: FragmentResult;
  /** From the origin or a listed host: its own markers are processed. */
  trusted: boolean;
  /** Whether `<esi:include>` inside it is processed too. */
  esi: boolean;
}

type Attempt = { ok: true; html: string; url: URL; esi: boolean } | { ok: false; outcome: FragmentOutcome; detail: string; url?: URL };

export async function runFailureChain(
  context: ChainContext,
  id: string,
  primary: ResolvedUrl,
  fallbackSrc: (() => ResolvedUrl) | undefined,
  plan: ChainPlan,
): Promise<RawFragment> {
  const began = Date.now();
  const first = await attempt(context, primary, plan);
  if (first.ok) return delivered(context, id, first, 'src', 'miss', undefined, began);

  let detail = first.detail;
  if (fallbackSrc) {
    const second = await attempt(context, fallbackSrc(), plan);
    if (second.ok) return delivered(context, id, second, 'fallback-src', first.outcome, detail, began);
    detail += `; fallback: ${second.detail}`;
  }
  const ms = Date.now() - began;
  const plain = { trusted: false, esi: false };
  if (plan.fallbackHtml !== undefined)
    return { ...plain, result: { ...chainFailure(id, first.outcome, 'fallback-html', detail, ms), html: plan.fallbackHtml } };
  if (plan.keep) return { ...plain, result: { ...chainFailure(id, first.outcome, 'keep', detail, ms), html: null } };
  return { ...plain, result: chainFailure(id, first.outcome, 'empty', detail, ms) };
}

async function attempt(context: ChainContext, target: ResolvedUrl, plan: ChainPlan): Promise<Attempt> {
  if (target.unresolved) return { ok: false, outcome: 'error', detail: target.unresolved };
  if (!target.url) return { ok: false, outcome: 'refused', detail: `${target.refused} is not the origin or a listed host` };
  const url = target.url;
  const fetched: FragmentFetchResult = await context.limit(() =>
    fetchFragment(url, {
      fetch: context.fetch,
      timeoutMs: plan.timeoutMs,
      maxBytes: context.route.limits.maxFragmentBytes,
      headers: fragmentHeaders(context.request, plan.forwardHeaders),
      signal: context.signal,
      allowRedirect: (location) => context.policy.resolve(location.href) !== undefined,
      contentTypes: plan.contentTypes,
    }),
  );
  if (!fetched.ok) return { ok: false, outcome: fetched.reason, detail: `${url.href}: ${fetched.detail}`, url };
  return { ok: true, html: fetched.html, url, esi: fetched.esi };
}

function delivered(
  context: ChainContext,
  id: string,
  delivery: Extract<Attempt, { ok: true }>,
  source: 'src' | 'fallback-src',
  outcome: FragmentOutcome,
  detail: string | undefined,
  began: number,
): RawFragment {
  const { route, policy, pageEsi } = context;
  return {
    trusted: policy.isTrusted(delivery.url),
    // ESI inside a fragment follows the page's opt-in, or the fragment's own Surrogate-Control.
    esi: route.esi === 'on' || (route.esi === 'auto' && (pageEsi() || delivery.esi)),
    result: { id, url: delivery.url.href, outcome, source, html: delivery.html, durationMs: Date.now() - began, detail },
  };
}

function fragmentHeaders(request: Request, forward: readonly string[]): Headers {
  const headers = new Headers({ accept: 'text/html', 'surrogate-capability': 'tessera="ESI/1.0"' });
  for (const name of forward) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}

export function chainFailure(id: string, outcome: FragmentOutcome, source: FragmentResult['source'], detail: string, durationMs: number): FragmentResult {
  return { id, outcome, source, html: '', durationMs, detail };
}
