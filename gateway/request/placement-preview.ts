import type { PlacementMode } from '../contract/types';
import type { DebugSettings } from './debug-gate';
import { debugRequested } from './debug-gate';

/**
 * `?tessera-placement=in-order|out-of-order`: the page with every fragment
 * placed that way, to compare the two. Always on under `tessera dev`;
 * deployed, only together with the debug token. Like the debug switch, it
 * never reaches the origin, and such a page is never cached.
 */
export const PLACEMENT_PARAM = 'tessera-placement';

export async function requestedPlacement(request: Request, url: URL, settings: DebugSettings): Promise<PlacementMode | undefined> {
  const asked = url.searchParams.get(PLACEMENT_PARAM);
  if (asked !== 'in-order' && asked !== 'out-of-order') return undefined;
  if (!settings.dev && !(await debugRequested(request, url, settings))) return undefined;
  return asked;
}
