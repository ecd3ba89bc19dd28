/** The ESI variables (ESI 1.0 §5 and the Akamai extensions) a route may let its pages read: the manifest's `esiVariables` names them. */
export const ESI_VARIABLES = ['HTTP_COOKIE', 'HTTP_HOST', 'HTTP_REFERER', 'HTTP_USER_AGENT', 'HTTP_ACCEPT_LANGUAGE', 'QUERY_STRING', 'GEO'] as const;
export type EsiVariableName = (typeof ESI_VARIABLES)[number];
