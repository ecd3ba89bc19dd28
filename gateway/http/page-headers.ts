import type { CompiledRoute } from '../contract/types';
import { assembledResponseHeaders } from './headers';
import { mergeVary, pageCacheHeaders, targetedCacheHeaders } from './page-cache-control';
import { placementVary } from './placement-decision';

/** The headers of an assembled page, for its GET and its HEAD alike. */
export function assembledPageHeaders(origin: Headers, route: CompiledRoute, esiActive: boolean): Headers {
  const headers = assembledResponseHeaders(origin, esiActive);
  const { cacheControl, vary } = pageCacheHeaders(origin, route, esiActive);
  if (cacheControl === null) headers.delete('cache-control');
  else headers.set('cache-control', cacheControl);
  for (const [name, value] of targetedCacheHeaders(origin, route, esiActive)) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  // Crawlers and Save-Data may get an out-of-order route's pages in order.
  const varies = mergeVary(vary, new Set(placementVary(route)));
  if (varies === null) headers.delete('vary');
  else headers.set('vary', varies);
  return headers;
}
