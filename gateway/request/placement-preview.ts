import type { PlacementMode } from '../contract/types';

/**
 * `?tessera-placement=in-order|out-of-order`: the page with every fragment
 * placed that way, to compare the two. Always on under `tessera dev`;
 * deployed, only together with the debug token (gateway-switches.ts
 * decides). Like the debug switch, it never reaches the origin, and such a
 * page is never cached.
 */
export const PLACEMENT_PARAM = 'tessera-placement';

/** The placement the request asks for; undefined for none or a value that is neither mode. */
export function askedPlacement(url: URL): PlacementMode | undefined {
  const asked = url.searchParams.get(PLACEMENT_PARAM);
  return asked === 'in-order' || asked === 'out-of-order' ? asked : undefined;
}
