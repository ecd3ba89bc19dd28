/**
 * The ESI variables (ESI 1.0 §5, the Akamai extensions, and ESI_ARGS as in
 * Ledge and cloudflare-esi) a route may let its pages read: the manifest's
 * `esiVariables` names them.
 */
export const ESI_VARIABLES = [
  'HTTP_COOKIE',
  'HTTP_HOST',
  'HTTP_REFERER',
  'HTTP_USER_AGENT',
  'HTTP_ACCEPT_LANGUAGE',
  'QUERY_STRING',
  'GEO',
  'ESI_ARGS',
] as const;

/** Query arguments named with this prefix are ESI_ARGS: kept from the origin on a route that runs ESI, read by the page's ESI. */
export const ESI_ARG_PREFIX = 'esi_';
export type EsiVariableName = (typeof ESI_VARIABLES)[number];
