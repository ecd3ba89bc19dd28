import type { EsiVariableName } from '../contract/esi-variable-names';
import type { AssignmentSpec, CompiledRoute, SrcTemplate, TemplateSource } from '../contract/types';
import { VISITOR_COOKIE } from './visitor-id';

/**
 * What a page reads from the visitor, and so how shared caches must treat it.
 * A fragment reads the visitor through template variables in its src and
 * fallback src, through forwarded request headers, and through what its `vary`
 * list declares. Each such input either makes the page `private`, or can be
 * covered by a `Vary` header that lets a shared cache tell visitors apart.
 *
 * Only content negotiation and client hints are safe to `Vary` on: everything
 * else (cookies, credentials, API keys, user ids, location) identifies a
 * visitor, and a shared cache must not hold it at all.
 */
export interface VisitorInputs {
  /** Some input identifies the visitor: the page must be `private`. */
  private: boolean;
  /** Lower-cased request headers the page varies on. */
  vary: Set<string>;
}

const NEGOTIATION_HEADERS = new Set([
  'accept',
  'accept-language',
  'accept-encoding',
  'user-agent',
  'save-data',
  'dpr',
  'viewport-width',
  'width',
  'device-memory',
  'ect',
  'rtt',
  'downlink',
]);

/** A header a shared cache may key on; any other forwarded header is treated as a credential. */
export function isNegotiationHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return NEGOTIATION_HEADERS.has(lower) || lower.startsWith('sec-ch-');
}

export function emptyInputs(): VisitorInputs {
  return { private: false, vary: new Set() };
}

/** Adds one input, named as in templates: `cookie.sid`, `header.accept-language`, `geo.country`, `query.q`. */
export function addInput(inputs: VisitorInputs, source: TemplateSource, name: string): void {
  switch (source) {
    case 'params':
    case 'query':
      return; // Part of the page URL, which every cache keys on already.
    case 'cookie':
      inputs.private = true;
      inputs.vary.add('cookie');
      return;
    case 'geo':
      inputs.private = true; // Derived from the client address: no request header a cache could vary on.
      return;
    case 'segment':
      inputs.private = true; // Looked up from the visitor's own id.
      return;
    case 'header':
      addHeader(inputs, name);
      return;
  }
}

export function addHeader(inputs: VisitorInputs, name: string): void {
  const lower = name.toLowerCase();
  inputs.vary.add(lower);
  if (!isNegotiationHeader(lower)) inputs.private = true;
}

export function addTemplate(inputs: VisitorInputs, template: SrcTemplate | undefined): void {
  for (const part of template?.parts ?? []) if (typeof part !== 'string') addInput(inputs, part.source, part.name);
}

/** Everything the route's fragments read from the visitor; undeclared includes count when ESI is on. */
export function routeVisitorInputs(route: CompiledRoute, esiActive: boolean): VisitorInputs {
  const inputs = emptyInputs();
  for (const fragment of Object.values(route.fragments)) {
    addTemplate(inputs, fragment.src);
    addTemplate(inputs, fragment.fallback.src);
    for (const header of fragment.forwardHeaders) addHeader(inputs, header);
    for (const variable of fragment.vary) addInput(inputs, variable.source, variable.name);
    for (const variant of fragment.experiment?.variants ?? []) {
      addTemplate(inputs, variant.fields.src);
      addTemplate(inputs, variant.fields.fallback.src);
    }
  }
  if (route.assignment) addAssignmentInputs(inputs, route.assignment);
  // The page itself, cached per value of what its `page.vary` names: downstream caches must tell those visitors apart too.
  for (const variable of route.page?.vary ?? []) addInput(inputs, variable.source, variable.name);
  // An include that no manifest entry declares forwards the defaults' headers; under `esi: auto` a fragment may turn
  // ESI on by itself (Surrogate-Control) after the page's headers have gone, so they count whether or not the page is ESI.
  if (esiActive || route.esi !== 'off') for (const header of route.defaults.forwardHeaders) addHeader(inputs, header);
  // The page's ESI may read these variables anywhere in its markup, and the headers leave before it is read.
  if (esiActive) addEsiVariableInputs(inputs, route.esiVariables);
  return inputs;
}

/**
 * What a page with experiments reads to choose its arms: the visitor id
 * (the configured cookie or header, and Tessera's own cookie, which identify
 * the visitor: `private`), and the headers that pin a visitor to the default
 * arm (User-Agent for crawlers, Save-Data).
 */
export function addAssignmentInputs(inputs: VisitorInputs, assignment: AssignmentSpec): void {
  if (assignment.visitorId) addInput(inputs, assignment.visitorId.source, assignment.visitorId.name);
  addInput(inputs, 'cookie', VISITOR_COOKIE);
  if (assignment.defaultFor.includes('bots')) addHeader(inputs, 'user-agent');
  if (assignment.defaultFor.includes('save-data')) addHeader(inputs, 'save-data');
}

/** What a page that may read these variables varies on, for its cache headers. */
export function addEsiVariableInputs(inputs: VisitorInputs, allowed: Iterable<EsiVariableName>): void {
  for (const name of allowed) {
    switch (name) {
      case 'HTTP_COOKIE':
        addInput(inputs, 'cookie', '*');
        break;
      case 'HTTP_REFERER':
        addHeader(inputs, 'referer');
        break;
      case 'HTTP_USER_AGENT':
        addHeader(inputs, 'user-agent');
        break;
      case 'HTTP_ACCEPT_LANGUAGE':
        addHeader(inputs, 'accept-language');
        break;
      case 'GEO':
        addInput(inputs, 'geo', 'country');
        break;
      // HTTP_HOST and QUERY_STRING are part of the URL every cache keys on.
    }
  }
}
