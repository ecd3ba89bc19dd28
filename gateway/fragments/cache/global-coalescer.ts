import { type FragmentFetchResult, fetchFragment, type Validators } from '../../fetch/fragment-fetch';
import { HostPolicy } from '../../fetch/host-policy';
import { readWithin } from '../../lib/chunk-reader';
import { SharedFlights } from './shared-flights';

/**
 * `coalesce: global`: misses for one cache key are routed through a Durable
 * Object named by that key, so that all isolates together make one upstream
 * fetch, not one each. The Object runs the same fragment fetch as the Worker,
 * under the same host policy (every redirect hop re-checked). It costs one
 * round trip to the Object per miss and isolate; hits never reach it.
 */
export interface CoalescedFetch {
  kind: 'fragment';
  key: string;
  url: string;
  /** The page's origin and the route's extra hosts: the SSRF rule, re-applied to redirects. */
  origin: string;
  hosts: string[];
  headers: Array<[string, string]>;
  timeoutMs: number;
  maxBytes: number;
  contentTypes: string[];
  validators?: Validators;
}

/**
 * A page of a route with `page: { coalesce: global }`: the origin request a
 * page cache miss makes, once across isolates. The answer goes back whole
 * (status, headers, bytes) for each isolate to store. An answer a shared
 * cache may not keep (it sets a cookie, is private or no-store, is no 2xx)
 * goes only to the caller whose request the Object sent: the others are told
 * to ask the origin themselves, as views in one isolate are.
 */
export interface CoalescedPageFetch {
  kind: 'page';
  key: string;
  url: string;
  headers: Array<[string, string]>;
  /** For the headers and the whole body. */
  timeoutMs: number;
  maxBytes: number;
}

type PageAnswer =
  | { ok: true; shareable: boolean; status: number; statusText: string; headers: Array<[string, string]>; body: Uint8Array }
  | { ok: false; detail: string };

const PAGE_META = 'x-tessera-page';

export class FragmentCoalescer {
  // The Object's requests end too (a caller's page may end early), so its flights are kept alive and bounded like the isolate's.
  private readonly inflight = new SharedFlights<FragmentFetchResult>();
  private readonly pages = new SharedFlights<PageAnswer>();

  constructor(private readonly state?: Pick<DurableObjectState, 'waitUntil'>) {}

  async fetch(request: Request): Promise<Response> {
    const job = (await request.json()) as CoalescedFetch | CoalescedPageFetch;
    const keepAlive = (work: Promise<unknown>) => this.state?.waitUntil(work);
    if (job.kind === 'page') {
      let sent = false;
      const answer = await this.pages.join(job.key, 2 * job.timeoutMs, keepAlive, () => {
        sent = true;
        return fetchPageForAll(job);
      });
      if (!answer.ok) return Response.json({ error: answer.detail }, { status: 502 });
      if (!answer.shareable && !sent) return Response.json({ error: 'the answer may not be shared' }, { status: 409 });
      const { body, shareable: _, ...meta } = answer;
      return new Response(body, { headers: { [PAGE_META]: JSON.stringify(meta) } });
    }
    return Response.json(await this.inflight.join(job.key, 2 * job.timeoutMs, keepAlive, () => fetchForAll(job)));
  }
}

async function fetchPageForAll(job: CoalescedPageFetch): Promise<PageAnswer> {
  try {
    const signal = AbortSignal.timeout(job.timeoutMs);
    const response = await fetch(job.url, { headers: job.headers, redirect: 'manual', signal });
    const body = response.body ? await readWithin(response.body, job.maxBytes) : new Uint8Array();
    if (!body) return { ok: false, detail: `the page is larger than ${job.maxBytes} bytes` };
    const { status, statusText, headers } = response;
    const control = headers.get('cache-control') ?? '';
    const shareable = status >= 200 && status < 300 && !headers.has('set-cookie') && !/\b(private|no-store)\b/i.test(control);
    return { ok: true, shareable, status, statusText, headers: [...headers], body };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The Worker's side of a page's coalesced request: the origin's answer as a
 * Response, or `undefined` when the Object itself failed or the origin could
 * not be reached through it (the caller then asks the origin directly, which
 * also tells an unreachable origin from a broken Object).
 */
export async function fetchPageThroughCoalescer(
  namespace: DurableObjectNamespace,
  job: CoalescedPageFetch,
  signal: AbortSignal,
): Promise<Response | undefined> {
  try {
    const stub = namespace.get(namespace.idFromName(`page\n${job.key}`));
    const response = await stub.fetch('https://coalescer.internal/', { method: 'POST', body: JSON.stringify(job), signal });
    const meta = response.headers.get(PAGE_META);
    if (!response.ok || !meta) {
      await response.body?.cancel();
      return undefined;
    }
    const { status, statusText, headers } = JSON.parse(meta) as Omit<Extract<PageAnswer, { ok: true }>, 'body'>;
    return new Response(status === 204 || status === 304 ? null : response.body, { status, statusText, headers });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    coalescerDown(error);
    return undefined;
  }
}

function fetchForAll(job: CoalescedFetch): Promise<FragmentFetchResult> {
  const policy = new HostPolicy(job.origin, job.hosts);
  return fetchFragment(new URL(job.url), {
    fetch: (input, init) => fetch(input, init),
    timeoutMs: job.timeoutMs,
    maxBytes: job.maxBytes,
    headers: new Headers(job.headers),
    allowRedirect: (location) => policy.resolve(location.href) !== undefined,
    contentTypes: job.contentTypes,
    validators: job.validators,
    judgeCacheability: true,
  });
}

/**
 * The Worker's side: one miss, through the Object that owns the key.
 * `undefined` when the Object itself failed (unreachable, overloaded, an
 * answer that is not a fetch result): the caller then fetches directly, since
 * coalescing across isolates is an economy and losing it must not cost the
 * fragment.
 */
export async function fetchThroughCoalescer(namespace: DurableObjectNamespace, job: CoalescedFetch): Promise<FragmentFetchResult | undefined> {
  try {
    const stub = namespace.get(namespace.idFromName(job.key));
    const response = await stub.fetch('https://coalescer.internal/', { method: 'POST', body: JSON.stringify(job) });
    if (!response.ok) throw new Error(`the coalescer answered ${response.status}`);
    const answer: unknown = await response.json();
    if (!isFetchResult(answer)) throw new Error('the coalescer answered something that is not a fetch result');
    return answer;
  } catch (error) {
    coalescerDown(error);
    return undefined;
  }
}

let reported = false;
function coalescerDown(error: unknown): void {
  if (reported) return;
  reported = true;
  console.error('tessera: the FragmentCoalescer Durable Object failed; fetching coalesce: global fragments and pages directly:', error);
}

function isFetchResult(value: unknown): value is FragmentFetchResult {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}
