import { type FragmentFetchResult, fetchFragment, type Validators } from '../../fetch/fragment-fetch';
import { HostPolicy } from '../../fetch/host-policy';
import { SharedFlights } from './shared-flights';

/**
 * `coalesce: global`: misses for one cache key are routed through a Durable
 * Object named by that key, so that all isolates together make one upstream
 * fetch, not one each. The Object runs the same fragment fetch as the Worker,
 * under the same host policy (every redirect hop re-checked). It costs one
 * round trip to the Object per miss and isolate; hits never reach it.
 */
export interface CoalescedFetch {
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

export class FragmentCoalescer {
  // The Object's requests end too (a caller's page may end early), so its flights are kept alive and bounded like the isolate's.
  private readonly inflight = new SharedFlights<FragmentFetchResult>();

  constructor(private readonly state?: Pick<DurableObjectState, 'waitUntil'>) {}

  async fetch(request: Request): Promise<Response> {
    const job = (await request.json()) as CoalescedFetch;
    const keepAlive = (work: Promise<unknown>) => this.state?.waitUntil(work);
    return Response.json(await this.inflight.join(job.key, 2 * job.timeoutMs, keepAlive, () => fetchForAll(job)));
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
  console.error('tessera: the FragmentCoalescer Durable Object failed; fetching coalesce: global fragments directly:', error);
}

function isFetchResult(value: unknown): value is FragmentFetchResult {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}
