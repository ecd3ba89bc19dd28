import { z } from 'zod';
import { ESI_VARIABLES } from '../contract/esi-variable-names';
import { DURATION_HINT, parseDuration } from '../lib/duration';
import { parseUrl } from '../lib/parse-url';

/**
 * The manifest schema: the single source of truth for what a manifest may
 * say, and (through `z.infer`) for the `RouteManifest` type. Unknown fields are
 * errors, not warnings: a misspelt `tll:` must not silently mean "no cache".
 * Every message is written as "expected …, got …" so the CLI can prefix it
 * with `file:line:col: field:`.
 */

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

const expected = (what: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? `required: expected ${what}` : `expected ${what}, got ${describeValue(issue.input)}`;

const text = (what = 'a string') => z.string({ error: expected(what) });

const duration = z.custom<string | number>((value) => parseDuration(value) !== undefined, {
  error: expected(DURATION_HINT),
});

const headerName = z.string({ error: expected('a header name') }).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: expected('a header name such as "cookie"') });

const mediaType = z
  .string({ error: expected('a media type') })
  .regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i, { error: expected('a media type such as "text/html"') });

const list = <T extends z.ZodType>(item: T, what: string) => z.array(item, { error: expected(what) });

const pathname = z
  .string({ error: expected('a URL path pattern such as "/products/:id"') })
  .startsWith('/', { error: expected('a URL path pattern starting with "/"') });

const absoluteUrl = (what: string) =>
  z.string({ error: expected(what) }).refine((v) => /^https?:\/\/[^/?#\s]+/.test(v) && parseUrl(v) !== undefined, {
    error: expected(what),
  });

const tag = z.string({ error: expected('a tag (a string)') }).regex(/^[A-Za-z0-9_.:-]+$/, { error: expected('a tag of letters, digits and _ . : -') });

const FallbackSchema = z.union(
  [
    z.literal('keep'),
    z.strictObject({
      html: text('fallback markup (a string)').optional(),
      src: text('a fallback URL (a string)').optional(),
      keep: z.boolean({ error: expected('true or false') }).optional(),
    }),
  ],
  { error: expected('"keep" or a mapping with html:, src: and/or keep:') },
);

/**
 * One of a fragment's assets (`assets:`): a stylesheet or script path or URL
 * (its kind told by `.css`, `.js` or `.mjs`), or a mapping that says it.
 */
const AssetSchema = z.union(
  [
    text('an asset path or URL'),
    z.strictObject({
      href: text('an asset path or URL (a string)'),
      rel: z.enum(['stylesheet', 'script', 'modulepreload', 'preload'], { error: expected('stylesheet, script, modulepreload or preload') }).optional(),
      as: z
        .string({ error: expected('a preload destination such as "font"') })
        .regex(/^[a-z]+$/, { error: expected('a preload destination such as "font" or "image"') })
        .optional(),
      type: z.literal('module', { error: expected('module (or leave it out for a classic script)') }).optional(),
      crossorigin: z.enum(['', 'anonymous', 'use-credentials'], { error: expected('anonymous or use-credentials') }).optional(),
      integrity: text('a subresource integrity hash such as "sha384-…"').optional(),
      media: text('a media query such as "print"').optional(),
      async: z.boolean({ error: expected('true or false') }).optional(),
      defer: z.boolean({ error: expected('true or false') }).optional(),
    }),
  ],
  { error: expected('an asset path such as "/assets/header.css", or a mapping with href: and rel:') },
);

/** An experiment's or arm's name: it reaches metrics, Server-Timing, a KV key and the `tessera-variant` switch. */
export const EXPERIMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const weight = z
  .number({ error: expected('a percentage from 0 to 100') })
  .min(0, { error: expected('a percentage from 0 to 100') })
  .max(100, { error: expected('a percentage from 0 to 100') })
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, { error: expected('a percentage in steps of 0.01') });

/** One arm of an experiment: its share of visitors, and the fragment fields it renders differently. */
export const VariantManifestSchema = z.strictObject(
  {
    weight: weight.describe('Percent of visitors who get this arm (0–100, in steps of 0.01); the default arm gets what the variants leave.'),
    src: text('a URL path or absolute URL (a string)').optional(),
    fallback: FallbackSchema.optional(),
    ttl: duration.optional(),
    timeout: duration.optional(),
    staleWhileRevalidate: duration.optional(),
    staleIfError: duration.optional(),
    placement: z.enum(['in-order', 'out-of-order'], { error: expected('in-order or out-of-order') }).optional(),
    placeholder: text('placeholder markup (a string)').optional(),
  },
  { error: expected('a mapping with weight: and the fields this arm changes (src:, fallback:, ttl:, timeout:, placement:, …)') },
);

export const FragmentManifestSchema = z.strictObject(
  {
    src: text('a URL path or absolute URL (a string)'),
    ttl: duration.optional(),
    timeout: duration.optional(),
    staleWhileRevalidate: duration.optional(),
    staleIfError: duration.optional(),
    vary: list(text('a variable name such as "geo.country"'), 'a list of variables').optional(),
    forwardHeaders: list(headerName, 'a list of header names').optional(),
    required: z.boolean({ error: expected('true or false') }).optional(),
    fallback: FallbackSchema.optional(),
    contentTypes: list(mediaType, 'a list of media types').optional(),
    lastGood: z.boolean({ error: expected('true or false') }).optional(),
    coalesce: z.enum(['isolate', 'global'], { error: expected('isolate or global') }).optional(),
    placement: z.enum(['in-order', 'out-of-order'], { error: expected('in-order or out-of-order') }).optional(),
    placeholder: text('placeholder markup (a string)').optional(),
    tags: list(tag, 'a list of tags').optional(),
    experiment: z
      .string({ error: expected('an experiment name such as "recs-2026-12"') })
      .regex(EXPERIMENT_NAME, { error: expected('an experiment name of letters, digits, _ . and -, such as "recs-2026-12"') })
      .optional(),
    variants: z
      .record(
        z.string().regex(EXPERIMENT_NAME, { error: (i) => `expected an arm name of letters, digits, _ . and -, got ${describeValue(i.input)}` }),
        VariantManifestSchema,
        { error: expected('a mapping of arm names to variants, such as new: { src: /fragments/recs/v2, weight: 10 }') },
      )
      .optional(),
    assets: list(AssetSchema, 'a list of assets').optional(),
  },
  { error: expected('a mapping with at least src:') },
);

/**
 * The route's `page:` block: the origin page itself cached, in compiled form.
 * Its descriptions are given here: the JSON Schema's are looked up by field
 * name, and there `ttl`, `vary` and `tags` describe a fragment's.
 */
const PAGE_TTL = `How long the cached page is fresh: ${DURATION_HINT}, or origin to follow the origin's shared-cache headers (s-maxage, Surrogate-Control max-age, max-age).`;
const PAGE_VARY =
  'What the page depends on besides its path and query: cookie.NAME, header.NAME, geo.country or segment. Part of its cache key, and the only cookies and headers the origin request carries.';
const PAGE_TAGS = 'Purge tags, shared with fragments: POST /__tessera/purge with {"tags": [...]} invalidates every page and fragment carrying one.';

const PageSchema = z
  .strictObject(
    {
      ttl: z
        .union([z.literal('origin').describe(PAGE_TTL), duration.describe(PAGE_TTL)], { error: expected(`${DURATION_HINT}, or origin`) })
        .describe(PAGE_TTL),
      staleWhileRevalidate: duration.optional(),
      staleIfError: duration.optional(),
      vary: list(text('a variable name such as "cookie.currency"').describe(PAGE_VARY), 'a list of variables').describe(PAGE_VARY).optional(),
      lastGood: z.boolean({ error: expected('true or false') }).optional(),
      tags: list(tag.describe(PAGE_TAGS), 'a list of tags').describe(PAGE_TAGS).optional(),
      coalesce: z.enum(['isolate', 'global'], { error: expected('isolate or global') }).optional(),
    },
    { error: expected('a mapping with at least ttl:') },
  )
  .describe('Cache the origin page itself at the edge, compiled once; fragments are still resolved on every view. Absent: the origin is asked on every view.');

/** The route's `assignment:` block: how visitors are told apart for its experiments. */
const AssignmentSchema = z.strictObject(
  {
    visitorId: z
      .string({ error: expected('where the visitor id comes from, such as "cookie.uid" or "header.x-visitor-id"') })
      .regex(/^(cookie|header)\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
        error: expected('where the visitor id comes from, such as "cookie.uid" or "header.x-visitor-id"'),
      })
      .optional(),
    defaultFor: list(z.enum(['bots', 'save-data'], { error: expected('bots or save-data') }), 'a list of bots and/or save-data').optional(),
  },
  { error: expected('a mapping of visitorId: and defaultFor:') },
);

const DefaultsSchema = z.strictObject(
  {
    ttl: duration.optional(),
    timeout: duration.optional(),
    forwardHeaders: list(headerName, 'a list of header names').optional(),
    contentTypes: list(mediaType, 'a list of media types').optional(),
  },
  { error: expected('a mapping of ttl:, timeout:, forwardHeaders:, contentTypes:') },
);

const TimeoutsSchema = z.strictObject(
  {
    origin: duration.optional(),
    originIdle: duration.optional(),
    page: duration.optional(),
  },
  { error: expected('a mapping of origin:, originIdle:, page:') },
);

const positiveInt = (what: string, max: number) =>
  z
    .number({ error: expected(what) })
    .int({ error: expected(what) })
    .min(1, { error: expected(what) })
    .max(max, { error: expected(what) });

const LimitsSchema = z.strictObject(
  {
    concurrency: positiveInt('a whole number from 1 to 50', 50).optional(),
    maxIncludes: positiveInt('a whole number from 1 to 1000', 1000).optional(),
    maxDepth: positiveInt('a whole number from 1 to 10', 10).optional(),
    maxFragmentBytes: positiveInt('a byte count from 1 to 26214400', 26_214_400).optional(),
    variantsPerFragment: positiveInt('a whole number from 1 to 10000', 10_000).optional(),
  },
  { error: expected('a mapping of concurrency:, maxIncludes:, maxDepth:, maxFragmentBytes:, variantsPerFragment:') },
);

const OnFailureSchema = z.strictObject(
  {
    status: z
      .number({ error: expected('an HTTP status from 500 to 599') })
      .int({ error: expected('an HTTP status from 500 to 599') })
      .min(500, { error: expected('an HTTP status from 500 to 599') })
      .max(599, { error: expected('an HTTP status from 500 to 599') })
      .optional(),
    html: text('error page markup (a string)').optional(),
  },
  { error: expected('a mapping of status: and html:') },
);

/** What a fragment id may be (also how `tessera dev --override` tells an id from a host). */
export const FRAGMENT_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

export const RouteManifestSchema = z.strictObject(
  {
    route: pathname.optional(),
    routes: list(pathname, 'a list of URL path patterns').min(1, { error: 'expected at least one route pattern' }).optional(),
    origin: absoluteUrl('an absolute http(s) URL such as "https://shop.example.com"').optional(),
    esi: z.enum(['auto', 'on', 'off'], { error: expected('one of auto, on, off') }).optional(),
    esiErrors: z.enum(['continue', 'fail'], { error: expected('continue or fail') }).optional(),
    esiVariables: list(z.enum(ESI_VARIABLES, { error: expected(`one of ${ESI_VARIABLES.join(', ')}`) }), 'a list of ESI variable names').optional(),
    defaults: DefaultsSchema.optional(),
    fragments: z
      .record(
        z.string().regex(FRAGMENT_ID, { error: (i) => `expected a fragment id of letters, digits, - and _, got ${describeValue(i.input)}` }),
        FragmentManifestSchema,
        { error: expected('a mapping of fragment ids to fragments') },
      )
      .optional(),
    hosts: list(text('a host such as "pricing.example.com" or an origin such as "http://127.0.0.1:9000"'), 'a list of hosts').optional(),
    limits: LimitsSchema.optional(),
    timeouts: TimeoutsSchema.optional(),
    coalesce: z.enum(['isolate', 'global'], { error: expected('isolate or global') }).optional(),
    placement: z.enum(['in-order', 'out-of-order'], { error: expected('in-order or out-of-order') }).optional(),
    inOrderFor: list(z.enum(['bots', 'save-data'], { error: expected('bots or save-data') }), 'a list of bots and/or save-data').optional(),
    segment: z
      .string({ error: expected('where the user id comes from, such as "cookie.uid" or "header.x-user-id"') })
      .regex(/^(cookie|header)\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: expected('where the user id comes from, such as "cookie.uid" or "header.x-user-id"') })
      .optional(),
    onFailure: OnFailureSchema.optional(),
    page: PageSchema.optional(),
    assignment: AssignmentSchema.optional(),
    conditional: duration.optional(),
  },
  { error: expected('a mapping with route: and fragments:') },
);

export type RouteManifest = z.infer<typeof RouteManifestSchema>;
export type FragmentManifest = z.infer<typeof FragmentManifestSchema>;
export type PageManifest = z.infer<typeof PageSchema>;
export type VariantManifest = z.infer<typeof VariantManifestSchema>;
export type AssignmentManifest = z.infer<typeof AssignmentSchema>;
