/**
 * Whether a page request asks for the debug view, and may have it: with
 * `?tessera-debug` or the `x-tessera-debug` header. Under `tessera dev` it is
 * always allowed; deployed, the value must be the TESSERA_DEBUG_TOKEN secret,
 * and without that secret the switch is ignored. Either way the switch never
 * reaches the origin (upstream-url.ts and headers.ts strip it).
 */
export const DEBUG_PARAM = 'tessera-debug';
export const DEBUG_HEADER = 'x-tessera-debug';

export interface DebugSettings {
  /** `tessera dev`: no token needed. */
  dev: boolean;
  token?: string;
}

export function debugRequested(request: Request, url: URL, settings: DebugSettings): boolean {
  const asked = url.searchParams.get(DEBUG_PARAM) ?? request.headers.get(DEBUG_HEADER);
  if (asked === null) return false;
  if (settings.dev) return true;
  return !!settings.token && sameSecret(asked, settings.token);
}

/** Compares in time that does not depend on where the strings differ. */
function sameSecret(given: string, secret: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(secret);
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) difference |= (a[i] ?? 0) ^ b[i];
  return difference === 0;
}
