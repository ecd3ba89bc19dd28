import type pLimit from 'p-limit';
import type { CompiledRoute, FragmentOutcome, FragmentResult } from '../types';
import { type FragmentFetchResult, fetchFragment } from './fragment-fetch';
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
  limit: ReturnType<typeof pLimit>;
  signal: AbortSignal;
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
}

/** A fragment that has settled, before the markers inside it are filled. */
export interface SettledFragment {
  result: FragmentResult;
  /** The fragment host opted in to ESI with its own Surrogate-Control. */
  surrogateEsi: boolean;
}

type Attempt = { ok: true; html: string; esi: boolean } | { ok: false; outcome: FragmentOutcome; detail: string };

export async function runFailureChain(context: FetchContext, plan: FailurePlan): Promise<SettledFragment> {
  const began = Date.now();
  const { id } = plan;
  const first = await attempt(context, plan.primary, plan);
  if (first.ok) return delivered(id, first, 'src', 'miss', undefined, began);

  let detail = first.detail;
  if (plan.fallbackSrc) {
    const second = await attempt(context, plan.fallbackSrc(), plan);
    if (second.ok) return delivered(id, second, 'fallback-src', first.outcome, detail, began);
    detail += `; fallback: ${second.detail}`;
  }
  const ms = Date.now() - began;
  const settled = (result: FragmentResult): SettledFragment => ({ result, surrogateEsi: false });
  if (plan.fallbackHtml !== undefined) return settled({ ...chainFailure(id, first.outcome, 'fallback-html', detail, ms), html: plan.fallbackHtml });
  if (plan.keep) return settled({ ...chainFailure(id, first.outcome, 'keep', detail, ms), html: null });
  return settled(chainFailure(id, first.outcome, 'empty', detail, ms));
}

async function attempt(context: FetchContext, target: ResolvedUrl, plan: FailurePlan): Promise<Attempt> {
  switch (target.kind) {
    case 'unresolved':
      return { ok: false, outcome: 'error', detail: target.problem };
    case 'refused':
      return { ok: false, outcome: 'refused', detail: `${target.src} is not the origin or a listed host` };
    case 'allowed': {
      const { url } = target;
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
      if (!fetched.ok) return { ok: false, outcome: fetched.reason, detail: `${url.href}: ${fetched.detail}` };
      return { ok: true, html: fetched.html, esi: fetched.esi };
    }
  }
}

function delivered(
  id: string,
  delivery: Extract<Attempt, { ok: true }>,
  source: 'src' | 'fallback-src',
  outcome: FragmentOutcome,
  detail: string | undefined,
  began: number,
): SettledFragment {
  return { surrogateEsi: delivery.esi, result: { id, outcome, source, html: delivery.html, durationMs: Date.now() - began, detail } };
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

/**
 * Content that was fetched came from the origin or a listed host (every fetch
 * and redirect passed the host policy), so the markers inside it are processed.
 * Static fallbacks are inserted as they are.
 */
export function wasFetched(result: FragmentResult): boolean {
  return result.source === 'src' || result.source === 'fallback-src';
}
