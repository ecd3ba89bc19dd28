import { type FragmentFetchResult, fetchFragment, type Validators } from '../fragment-fetch';
import { HostPolicy } from '../host-policy';

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
  private readonly inflight = new Map<string, Promise<FragmentFetchResult>>();

  async fetch(request: Request): Promise<Response> {
    const job = (await request.json()) as CoalescedFetch;
    let running = this.inflight.get(job.key);
    if (!running) {
      running = fetchForAll(job).finally(() => this.inflight.delete(job.key));
      this.inflight.set(job.key, running);
    }
    return Response.json(await running);
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

/** The Worker's side: one miss, through the Object that owns the key. */
export async function fetchThroughCoalescer(namespace: DurableObjectNamespace, job: CoalescedFetch): Promise<FragmentFetchResult> {
  try {
    const stub = namespace.get(namespace.idFromName(job.key));
    const response = await stub.fetch('https://coalescer.internal/', { method: 'POST', body: JSON.stringify(job) });
    return (await response.json()) as FragmentFetchResult;
  } catch (error) {
    return { ok: false, reason: 'error', detail: `global coalescing failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
