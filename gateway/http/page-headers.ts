import type { CompiledRoute } from '../types';
import { assembledResponseHeaders } from './headers';
import { pageCacheHeaders } from './page-cache-control';

/** The headers of an assembled page, for its GET and its HEAD alike. */
export function assembledPageHeaders(origin: Headers, route: CompiledRoute, esiActive: boolean): Headers {
  const headers = assembledResponseHeaders(origin, esiActive);
  const { cacheControl, vary } = pageCacheHeaders(origin, route, esiActive);
  if (cacheControl === null) headers.delete('cache-control');
  else headers.set('cache-control', cacheControl);
  if (vary === null) headers.delete('vary');
  else headers.set('vary', vary);
  return headers;
}
