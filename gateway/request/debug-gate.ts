import { sameSecret } from '../lib/same-secret';

/**
 * Whether a request may use the gateway's switches: the debug view
 * (`?tessera-debug` or the `x-tessera-debug` header), fault injection and the
 * placement preview. Under `tessera dev` they are always allowed; deployed,
 * the debug switch's value must be the TESSERA_DEBUG_TOKEN secret, and
 * without that secret every switch is ignored. Either way the switches never
 * reach the origin (upstream-url.ts and headers.ts strip them).
 */
export const DEBUG_PARAM = 'tessera-debug';
export const DEBUG_HEADER = 'x-tessera-debug';

export interface DebugSettings {
  /** `tessera dev`: no token needed. */
  dev: boolean;
  token?: string;
}

/** The debug switch's value as the request presents it (the query first, then the header); null when it is absent. */
export function presentedDebugToken(url: URL, header: (name: string) => string | undefined): string | null {
  return url.searchParams.get(DEBUG_PARAM) ?? header(DEBUG_HEADER) ?? null;
}

/** Whether the switches are on for a request presenting this token: one comparison with the secret, in constant time. */
export async function switchesAllowed(presented: string | null, settings: DebugSettings): Promise<boolean> {
  if (settings.dev) return true;
  return presented !== null && !!settings.token && (await sameSecret(presented, settings.token));
}
