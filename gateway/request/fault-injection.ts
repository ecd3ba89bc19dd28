import { safeDecode } from './safe-decode';

/**
 * Forced fragment outcomes, to preview fallbacks in the page:
 * `?tessera-fault=recs:timeout,reviews:error,header:stale`, or the same in a
 * `tessera-fault` cookie. A fragment is named by its id (declared) or its src
 * (an undeclared include). `timeout`, `error` and `refused` fail its primary
 * src that way, so its fallback chain runs; `stale` serves its cached copy as
 * if a refresh had failed (or fails like `error` when there is none).
 * Always on under `tessera dev`; deployed, only together with the debug
 * token (gateway-switches.ts decides). Like the debug switch, it never
 * reaches the origin.
 */
export const FAULT_PARAM = 'tessera-fault';
export const FAULTS = ['timeout', 'error', 'refused', 'stale'] as const;
export type Fault = (typeof FAULTS)[number];

/** The fault list the request asks for: the query's, else the cookie's (raw, as parsed); null when neither. */
export function faultSpec(url: URL, cookie: string | undefined): string | null {
  return url.searchParams.get(FAULT_PARAM) ?? (cookie === undefined ? null : safeDecode(cookie));
}

/** `recs:timeout,reviews:error` → fragment → fault; unknown faults and unnamed fragments are left out. */
export function parseFaults(spec: string): Map<string, Fault> {
  const faults = new Map<string, Fault>();
  for (const part of spec.split(',')) {
    const at = part.lastIndexOf(':');
    const fragment = part.slice(0, at).trim();
    const fault = part.slice(at + 1).trim() as Fault;
    if (at > 0 && fragment && FAULTS.includes(fault)) faults.set(fragment, fault);
  }
  return faults;
}
