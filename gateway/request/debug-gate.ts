import { sameSecret } from '../lib/same-secret';

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

export async function debugRequested(request: Request, url: URL, settings: DebugSettings): Promise<boolean> {
  const asked = url.searchParams.get(DEBUG_PARAM) ?? request.headers.get(DEBUG_HEADER);
  if (asked === null) return false;
  if (settings.dev) return true;
  return !!settings.token && (await sameSecret(asked, settings.token));
}
