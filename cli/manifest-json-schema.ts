import { z } from 'zod';
import { DURATION_HINT } from '../gateway/lib/duration';
import { RouteManifestSchema } from '../gateway/manifest/schema';

/**
 * The JSON Schema of a route manifest, for editors (completion, hover docs,
 * squiggles as you type). It is generated from the same zod schema the
 * validator uses, so the two never disagree; the descriptions are added here.
 * `tessera validate` still has the last word (durations, templates, hosts).
 */
const DESCRIPTIONS: Record<string, string> = {
  route: 'The URL path pattern this manifest assembles, such as "/products/:id".',
  routes: 'Several URL path patterns, instead of route:.',
  origin: 'The origin for this route only (default: the ORIGIN variable).',
  esi: 'auto: process ESI only when the origin sends Surrogate-Control: content="ESI/1.0"; on: always; off: never.',
  esiErrors: 'continue (default): a failed <esi:include> renders nothing; fail: it fails the page, as ESI 1.0 says.',
  esiVariables: 'The ESI variables pages on this route may read (default: all). Visitor variables make the page private.',
  defaults: 'Settings for every fragment of this route, and for undeclared <esi:include>s.',
  fragments: 'The fragments of this route, by id: a data-slot="id" marker, or an <esi:include> of the same src.',
  hosts: 'Hosts fragments may come from besides the origin, such as "pricing.example.com".',
  limits: 'Bounds on the work one page may cause.',
  timeouts: 'Bounds on the origin and the whole page.',
  coalesce: 'isolate (default): one fetch per cache miss per isolate; global: one across isolates, through a Durable Object.',
  placement:
    'in-order (default): the page waits at the marker for the fragment; out-of-order: a fragment not there yet gets a placeholder, the page streams on, and the fragment follows in a <template for>.',
  inOrderFor: 'Clients that get out-of-order fragments in document order instead (default: bots, save-data).',
  placeholder:
    "Markup the placeholder shows until an out-of-order fragment arrives (default: the marker's own content, or the fallback html); give it the fragment's size to avoid layout shift.",
  segment: 'Where the user id for segments comes from, such as "cookie.uid".',
  onFailure: 'What a visitor gets when a required fragment fails: a 5xx status and an HTML page.',
  conditional: `How long a request with If-None-Match may wait for a cached page's parts, to be answered 304 (default 0: only parts settled at once): ${DURATION_HINT}.`,
  src: 'The fragment URL: a path on the origin, or a URL on a listed host. Variables: {params.x}, {query.x}, {cookie.x}, {header.x}, {geo.country}, {segment}, with |default.',
  ttl: `How long a fragment stays cached: ${DURATION_HINT}. 0: not cached.`,
  timeout: `The longest wait for a fragment, headers and body: ${DURATION_HINT}.`,
  staleWhileRevalidate: `How long an expired copy is served while it is refreshed in the background: ${DURATION_HINT}.`,
  staleIfError: `How long an expired copy is served when the refresh fails: ${DURATION_HINT}.`,
  vary: 'What else the fragment depends on, such as "cookie.currency": part of its cache key.',
  forwardHeaders: 'Request headers the fragment receives (credentials only when listed).',
  required: 'Awaited before the status line; if it fails, the page is onFailure.',
  fallback: 'What renders when the fragment fails: keep (the marker\'s own content), { html: "…" }, or { src: "…" }.',
  contentTypes: 'Media types accepted from the fragment (default: text/html, text/plain).',
  tags: 'Purge tags: POST /__tessera/purge with {"tags": [...]} invalidates every fragment carrying one.',
  lastGood: 'Keep a last-good copy in KV (TESSERA_LAST_GOOD) for stale-if-error in a cold data centre.',
  experiment:
    'The experiment this fragment is in, such as "recs-2026-12": its name in metrics, in the TESSERA_EXPERIMENTS key for its weights, and in the hash that buckets visitors.',
  variants:
    'The arms of the experiment besides the default (the fragment as declared), by name: each a weight (percent) and the fields it changes (src, fallback, ttl, timeout, staleWhileRevalidate, staleIfError, placement, placeholder).',
  assets:
    "Stylesheets and scripts the fragment needs, beside those its Link header names: each goes into the page once, a stylesheet before the fragment, a script after it, and the page's Link header preloads them. A path or URL ending in .css, .js or .mjs, or { href, rel, … }.",
  href: 'The asset: a path on the origin, or a URL on a listed host.',
  rel: 'stylesheet, script (run after the fragment), modulepreload, or preload (with as:).',
  as: "A preload's destination: style, script, font, image, fetch, ….",
  type: 'module for a module script; leave it out for a classic one.',
  crossorigin: 'The CORS mode of the request: anonymous or use-credentials.',
  integrity: 'A subresource integrity hash, such as "sha384-…".',
  media: "A stylesheet's media query, such as print.",
  async: 'The script runs as soon as it loads (<script async>).',
  defer: 'The script runs once the document is parsed (<script defer>).',
  assignment: 'How visitors get their arms of the experiments on this route.',
  visitorId:
    'Where the visitor id comes from first, such as "cookie.uid" or "header.x-visitor-id" (default: Tessera\'s own first-party cookie, tessera-visitor, set when there is none).',
  defaultFor: 'Visitors who always get the default arm and are not counted (default: bots; also save-data).',
  concurrency: "Requests waiting for response headers per page, the origin's included (Workers allows 6).",
  maxIncludes: 'Fragments per page, nested ones included; the rest render empty.',
  maxDepth: 'How deep includes inside fragments are followed.',
  maxFragmentBytes: 'A larger fragment counts as failed.',
  variantsPerFragment: 'Cached variants (distinct keys) per fragment and isolate.',
  originIdle: `The longest silence inside the origin's body: ${DURATION_HINT}.`,
  page: `Request to last byte: ${DURATION_HINT}.`,
  status: 'An HTTP status from 500 to 599.',
  html: 'HTML markup.',
};

const DURATION_KEYS = new Set(['ttl', 'timeout', 'staleWhileRevalidate', 'staleIfError', 'originIdle', 'page', 'conditional']);

export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(RouteManifestSchema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  annotate(schema, undefined);
  return { $schema: schema.$schema, title: 'Tessera route manifest', ...schema };
}

/** Adds descriptions to every property, and the duration type where zod could only say "anything". */
function annotate(node: unknown, key: string | undefined): void {
  if (!node || typeof node !== 'object') return;
  const object = node as Record<string, unknown>;
  // zod's "starts_with" is no JSON Schema format; the pattern beside it says the same.
  if (object.format === 'starts_with') delete object.format;
  if (key !== undefined) {
    if (DESCRIPTIONS[key] && object.description === undefined) object.description = DESCRIPTIONS[key];
    if (DURATION_KEYS.has(key) && Object.keys(object).every((k) => k === 'description')) {
      object.type = ['string', 'number'];
      object.pattern = '^\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?$';
    }
  }
  for (const [child, value] of Object.entries(object)) {
    if (child === 'properties' && value && typeof value === 'object') {
      for (const [name, property] of Object.entries(value)) annotate(property, name);
    } else if (Array.isArray(value)) {
      for (const item of value) annotate(item, key);
    } else if (typeof value === 'object') annotate(value, child === 'additionalProperties' || child === 'items' || child === 'anyOf' ? key : undefined);
  }
}
