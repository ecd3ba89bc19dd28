import { parseCookies } from '../lib/cookies';
import type { DebugSettings } from './debug-gate';
import { debugRequested } from './debug-gate';
import { safeDecode } from './request-vars';

/**
 * Forced fragment outcomes, to preview fallbacks in the page:
 * `?tessera-fault=recs:timeout,reviews:error,header:stale`, or the same in a
 * `tessera-fault` cookie. A fragment is named by its id (declared) or its src
 * (an undeclared include). `timeout`, `error` and `refused` fail its primary
 * src that way, so its fallback chain runs; `stale` serves its cached copy as
 * if a refresh had failed (or fails like `error` when there is none).
 * Always on under `tessera dev`; deployed, only together with the debug
 * token. Like the debug switch, it never reaches the origin.
 */
export const FAULT_PARAM = 'tessera-fault';
export const FAULTS = ['timeout', 'error', 'refused', 'stale'] as const;
export type Fault = (typeof FAULTS)[number];

export async function requestedFaults(request: Request, url: URL, settings: DebugSettings): Promise<Map<string, Fault>> {
  const faults = new Map<string, Fault>();
  const cookie = parseCookies(request.headers.get('cookie')).get(FAULT_PARAM);
  const spec = url.searchParams.get(FAULT_PARAM) ?? (cookie === undefined ? null : safeDecode(cookie));
  if (!spec) return faults;
  // Deployed, a fault needs the same token as the debug view.
  if (!settings.dev && !(await debugRequested(request, url, settings))) return faults;
  for (const part of spec.split(',')) {
    const at = part.lastIndexOf(':');
    const fragment = part.slice(0, at).trim();
    const fault = part.slice(at + 1).trim() as Fault;
    if (at > 0 && fragment && FAULTS.includes(fault)) faults.set(fragment, fault);
  }
  return faults;
}
