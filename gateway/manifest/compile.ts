import { ESI_VARIABLES } from '../contract/esi-variable-names';
import { COMPILED_ROUTES_VERSION } from '../contract/routes-version';
import {
  type AssetSpec,
  type CompiledManifests,
  type CompiledRoute,
  DEFAULT_CONTENT_TYPES,
  type FallbackSpec,
  type FragmentDefaults,
  type FragmentSpec,
  type PageCacheSpec,
  type RouteLimits,
  type RouteTimeouts,
  type SegmentSource,
  type TemplateVariable,
} from '../contract/types';
import { durationMs } from '../lib/duration';
import { parseUrl } from '../lib/parse-url';
import { isNegotiationHeader } from '../request/visitor-inputs';
import { compileAssignment, experimentProblems, withExperiment, writtenSources } from './compile-experiments';
import type { FragmentManifest, PageManifest, RouteManifest } from './schema';
import { checkSrcTemplate, parseSrcTemplate, TemplateError, templateParams, usesSegment } from './src-template';

/**
 * Turns validated manifests into the `CompiledRoute`s the Worker imports:
 * durations in milliseconds, templates pre-parsed, defaults merged, hosts
 * normalised to origins, and patterns sorted by specificity. Checks that need
 * more than one field (a template naming a route parameter the route lacks)
 * are reported here, as problems with the path of the offending field.
 */

export interface CompileProblem {
  path: (string | number)[];
  message: string;
  /** Where in the value at `path` (a template's variable, say); its start when absent. */
  offset?: number;
}

export const DEFAULT_TIMEOUT_MS = 1000;
export const DEFAULT_LIMITS: RouteLimits = {
  concurrency: 6,
  maxIncludes: 64,
  maxDepth: 3,
  maxFragmentBytes: 1024 * 1024,
  variantsPerFragment: 100,
};
export const DEFAULT_FAILURE_STATUS = 502;
export const DEFAULT_TIMEOUTS: RouteTimeouts = {
  originMs: 20_000,
  originIdleMs: 20_000,
  pageMs: 60_000,
};

export function compileRoute(manifest: RouteManifest, name: string, file: string): { route?: CompiledRoute; problems: CompileProblem[] } {
  const problems: CompileProblem[] = [];
  const patterns = routePatterns(manifest, problems);
  const paramNames = new Set(patterns.flatMap(patternParams));

  const defaults: FragmentDefaults = {
    ttlMs: durationMs(manifest.defaults?.ttl, 0),
    timeoutMs: durationMs(manifest.defaults?.timeout, 0) || DEFAULT_TIMEOUT_MS,
    forwardHeaders: (manifest.defaults?.forwardHeaders ?? []).map((h) => h.toLowerCase()),
    contentTypes: (manifest.defaults?.contentTypes ?? DEFAULT_CONTENT_TYPES).map((t) => t.toLowerCase()),
  };

  const hosts: string[] = [];
  (manifest.hosts ?? []).forEach((host, i) => {
    const origin = hostOrigin(host);
    if (origin) hosts.push(origin);
    else
      problems.push({
        path: ['hosts', i],
        message: `expected a host such as "pricing.example.com" or an origin such as "http://127.0.0.1:9000", got ${JSON.stringify(host)}`,
      });
  });

  if (defaults.ttlMs > 0) {
    const credentials = defaults.forwardHeaders.filter((h) => !isNegotiationHeader(h));
    if (credentials.length) {
      problems.push({
        path: ['defaults', 'ttl'],
        message: `expected ttl 0 for undeclared includes that receive ${credentials.join(', ')}: they cannot vary, so one visitor's answer would be served to another (declare the fragment with vary:, or stop forwarding ${credentials.join(', ')})`,
      });
    }
  }

  const fragments: Record<string, FragmentSpec> = {};
  for (const [id, spec] of Object.entries(manifest.fragments ?? {})) {
    const compileAs = (fields: FragmentManifest, sink: CompileProblem[]) =>
      compileFragment(id, fields, defaults, paramNames, sink, {
        coalesce: manifest.coalesce ?? 'isolate',
        placement: manifest.placement ?? 'in-order',
      });
    const fragment = compileAs(spec, problems);
    // A fragment with variants: each arm compiled by the same rules (compile-experiments.ts).
    if (fragment) fragments[id] = withExperiment(fragment, spec, compileAs, problems);
  }
  problems.push(...experimentProblems(fragments));
  const assignment = compileAssignment(manifest.assignment, fragments, problems);

  // An absolute src must be on a host the runtime will allow: say so now, not as a refused fetch on every page.
  const allowed = new Set([...hosts, ...(manifest.origin ? [new URL(manifest.origin).origin] : [])]);
  for (const fragment of Object.values(fragments)) {
    // The same for a declared asset, which the runtime would leave out.
    fragment.assets?.forEach((asset, i) => {
      const origin = literalOrigin(asset.href);
      if (origin && !allowed.has(origin)) {
        problems.push({
          path: ['fragments', fragment.id, 'assets', i],
          message: `${origin} is not the origin or a listed host: list it under hosts:, or give a path (on the origin)`,
        });
      }
    });
    for (const { path, template } of writtenSources(fragment)) {
      const origin = literalOrigin(template.raw);
      if (origin && !allowed.has(origin)) {
        problems.push({ path, message: `${origin} is not the origin or a listed host: list it under hosts:, or give a path (which goes to the origin)` });
      }
    }
  }

  if (!manifest.segment) {
    for (const fragment of Object.values(fragments)) {
      if (writtenSources(fragment).some((s) => usesSegment(s.template)) || fragment.vary.some((v) => v.source === 'segment')) {
        problems.push({
          path: ['fragments', fragment.id],
          message: 'expected segment: on the route (such as "cookie.uid") for a fragment that uses {segment}',
        });
      }
    }
  }

  const page = manifest.page ? compilePage(manifest.page, manifest, problems) : undefined;

  if (problems.length) return { problems };
  return {
    problems,
    route: {
      name,
      file,
      patterns,
      origin: manifest.origin ? new URL(manifest.origin).origin : undefined,
      esi: manifest.esi ?? 'auto',
      esiErrors: manifest.esiErrors ?? 'continue',
      esiVariables: manifest.esiVariables ?? [...ESI_VARIABLES],
      hosts,
      placement: manifest.placement ?? 'in-order',
      inOrderFor: manifest.inOrderFor ?? ['bots', 'save-data'],
      defaults,
      fragments,
      limits: { ...DEFAULT_LIMITS, ...manifest.limits },
      timeouts: compileTimeouts(manifest.timeouts),
      segment: manifest.segment ? segmentSource(manifest.segment) : undefined,
      onFailure: { status: manifest.onFailure?.status ?? DEFAULT_FAILURE_STATUS, html: manifest.onFailure?.html },
      conditionalMs: durationMs(manifest.conditional, 0),
      page,
      assignment,
    },
  };
}

/** What a page may vary on: the visitor, never the URL (the page key has the path and query already). */
const PAGE_VARY_HINT = 'expected cookie.NAME, header.NAME, geo.country or segment';

function compilePage(spec: PageManifest, manifest: RouteManifest, problems: CompileProblem[]): PageCacheSpec {
  const at = (...path: (string | number)[]) => ['page', ...path];
  const ttlMs = spec.ttl === 'origin' ? undefined : durationMs(spec.ttl, 0);
  if (ttlMs === 0) problems.push({ path: at('ttl'), message: 'expected a duration above 0, or origin; leave page: out to ask the origin on every view' });

  const vary: TemplateVariable[] = [];
  (spec.vary ?? []).forEach((name, i) => {
    let variable: TemplateVariable;
    try {
      // The parser fragments' vary and srcs use: the same names mean the same inputs.
      variable = parseSrcTemplate(`{${name}}`).parts[0] as TemplateVariable;
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      problems.push({ path: at('vary', i), message: `${PAGE_VARY_HINT}, got ${JSON.stringify(name)}` });
      return;
    }
    if (variable.source === 'params' || variable.source === 'query') {
      problems.push({ path: at('vary', i), message: `${PAGE_VARY_HINT}, got ${JSON.stringify(name)}: the page key already covers the path and query` });
    } else if (variable.source === 'segment' && !manifest.segment) {
      problems.push({ path: at('vary', i), message: 'expected segment: on the route (such as "cookie.uid") for a page that varies on segment' });
    } else vary.push(variable);
  });

  if (spec.lastGood && !spec.staleIfError) {
    problems.push({ path: at('lastGood'), message: 'expected staleIfError: as well, for how long the last good copy may be served' });
  }

  return {
    ttl: ttlMs === undefined ? { kind: 'origin' } : { kind: 'fixed', ms: ttlMs },
    staleWhileRevalidateMs: durationMs(spec.staleWhileRevalidate, 0),
    staleIfErrorMs: durationMs(spec.staleIfError, 0),
    vary,
    lastGood: spec.lastGood ?? false,
    tags: spec.tags ?? [],
    coalesce: spec.coalesce ?? manifest.coalesce ?? 'isolate',
  };
}

function routePatterns(manifest: RouteManifest, problems: CompileProblem[]): string[] {
  if (manifest.route !== undefined && manifest.routes !== undefined) {
    problems.push({ path: ['routes'], message: 'expected either route: or routes:, got both' });
  }
  if (manifest.route === undefined && manifest.routes === undefined) {
    problems.push({ path: [], message: 'required: expected route: (a URL path pattern such as "/products/:id") or routes: (a list of them)' });
  }
  return manifest.routes ?? (manifest.route !== undefined ? [manifest.route] : []);
}

function compileFragment(
  id: string,
  spec: FragmentManifest,
  defaults: FragmentDefaults,
  paramNames: Set<string>,
  problems: CompileProblem[],
  route: Pick<FragmentSpec, 'coalesce' | 'placement'>,
): FragmentSpec | undefined {
  const at = (...path: (string | number)[]) => ['fragments', id, ...path];
  const template = (raw: string, path: (string | number)[]) => {
    // Every problem of the src at once, each pinned to its variable.
    const checked = checkSrcTemplate(raw);
    for (const error of checked.errors) problems.push({ path, message: error.message, offset: error.offset });
    const parts = checked.template ?? { raw, parts: [] };
    const params = checked.template ? templateParams(checked.template, checked.offsets) : paramsWritten(raw);
    for (const param of params) {
      if (!paramNames.has(param.name)) {
        const known = [...paramNames].map((p) => `{params.${p}}`).join(', ') || 'none';
        problems.push({ path, message: `expected a route parameter, got {params.${param.name}} (this route has: ${known})`, offset: param.offset });
      }
    }
    return checked.template ? parts : undefined;
  };

  const src = template(spec.src, at('src'));
  const fallback: FallbackSpec = { keep: false };
  if (spec.fallback === 'keep') fallback.keep = true;
  else if (spec.fallback) {
    fallback.keep = spec.fallback.keep ?? false;
    fallback.html = spec.fallback.html;
    if (spec.fallback.src !== undefined) fallback.src = template(spec.fallback.src, at('fallback', 'src'));
  }
  const vary: TemplateVariable[] = [];
  (spec.vary ?? []).forEach((name, i) => {
    try {
      // A vary entry is a template variable by itself; the parser is the one srcs use.
      vary.push(parseSrcTemplate(`{${name}}`).parts[0] as TemplateVariable);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      problems.push({ path: at('vary', i), message: `expected a variable such as "geo.country" or "header.accept-language", got ${JSON.stringify(name)}` });
    }
  });
  if (!src) return undefined;
  const ttlMs = durationMs(spec.ttl, defaults.ttlMs);
  const forwardHeaders = (spec.forwardHeaders ?? defaults.forwardHeaders).map((h) => h.toLowerCase());
  const uncovered = ttlMs > 0 ? forwardHeaders.filter((h) => !isNegotiationHeader(h) && !variesOn(vary, h)) : [];
  if (uncovered.length) {
    const example = uncovered[0] === 'cookie' ? 'cookie.session' : `header.${uncovered[0]}`;
    problems.push({
      path: spec.ttl === undefined ? at('forwardHeaders') : at('ttl'),
      message: `expected a vary: list naming what the answer depends on (such as ${example}), because this fragment receives ${uncovered.join(', ')} and is cached; without it one visitor's answer would be served to another`,
    });
  }

  if (spec.placeholder !== undefined && (spec.placement ?? route.placement) !== 'out-of-order') {
    problems.push({
      path: at('placeholder'),
      message: 'expected placement: out-of-order (on the fragment or the route): a placeholder shows only while an out-of-order fragment is on its way',
    });
  }

  if (spec.lastGood && !spec.staleIfError) {
    problems.push({ path: at('lastGood'), message: 'expected staleIfError: as well, for how long the last good copy may be served' });
  }
  const assets = spec.assets?.map((asset, i) => compileAsset(asset, at('assets', i), problems)).filter((a) => a !== undefined);

  return {
    id,
    src,
    ttlMs,
    timeoutMs: durationMs(spec.timeout, defaults.timeoutMs) || defaults.timeoutMs,
    staleWhileRevalidateMs: durationMs(spec.staleWhileRevalidate, 0),
    staleIfErrorMs: durationMs(spec.staleIfError, 0),
    vary,
    forwardHeaders,
    required: spec.required ?? false,
    fallback,
    contentTypes: spec.contentTypes?.map((t) => t.toLowerCase()) ?? defaults.contentTypes,
    tags: spec.tags ?? [],
    lastGood: spec.lastGood ?? false,
    coalesce: spec.coalesce ?? route.coalesce,
    placement: spec.placement ?? route.placement,
    placeholder: spec.placeholder,
    ...(assets?.length ? { assets } : {}),
  };
}

/** One `assets:` entry: a path or URL whose kind its extension tells, or a mapping that says it. */
function compileAsset(entry: NonNullable<FragmentManifest['assets']>[number], path: (string | number)[], problems: CompileProblem[]): AssetSpec | undefined {
  const { href, ...rest } = typeof entry === 'string' ? { href: entry } : entry;
  const hrefPath = typeof entry === 'string' ? path : [...path, 'href'];
  const scheme = /^[a-z][a-z0-9+.-]*:/i.test(href);
  if (!parseUrl(href, 'https://origin.invalid/') || (scheme && !/^https?:\/\/[^/?#\s]+/i.test(href)) || href.startsWith('//')) {
    problems.push({ path: hrefPath, message: `expected a path such as "/assets/header.css" or an http(s) URL, got ${JSON.stringify(href)}` });
    return undefined;
  }
  const extension = /\.(css|m?js)(?:[?#]|$)/i.exec(href)?.[1]?.toLowerCase();
  const rel = rest.rel ?? (extension === 'css' ? 'stylesheet' : extension ? 'script' : undefined);
  if (!rel) {
    problems.push({
      path,
      message: `expected rel: (stylesheet, script, modulepreload or preload) for ${JSON.stringify(href)}, whose name does not end in .css, .js or .mjs`,
    });
    return undefined;
  }
  if (rel === 'preload' && !rest.as) {
    problems.push({ path, message: 'expected as: for a preload (style, script, font, image, fetch, …): browsers ignore a preload without it' });
    return undefined;
  }
  const asset: AssetSpec = { href, rel };
  if (rest.as && rel === 'preload') asset.as = rest.as;
  if (rel === 'script' && (rest.type === 'module' || (rest.type === undefined && extension === 'mjs'))) asset.type = 'module';
  if (rest.crossorigin !== undefined) asset.crossorigin = rest.crossorigin;
  if (rest.integrity) asset.integrity = rest.integrity;
  if (rest.media && rel === 'stylesheet') asset.media = rest.media;
  if (rest.async && rel === 'script') asset.async = true;
  if (rest.defer && rel === 'script') asset.defer = true;
  return asset;
}

function compileTimeouts(timeouts: RouteManifest['timeouts']): RouteTimeouts {
  const ms = (value: string | number | undefined, fallback: number) => durationMs(value, fallback) || fallback;
  return {
    originMs: ms(timeouts?.origin, DEFAULT_TIMEOUTS.originMs),
    originIdleMs: ms(timeouts?.originIdle, DEFAULT_TIMEOUTS.originIdleMs),
    pageMs: ms(timeouts?.page, DEFAULT_TIMEOUTS.pageMs),
  };
}

function segmentSource(text: string): SegmentSource {
  const dot = text.indexOf('.');
  const source = text.slice(0, dot) as SegmentSource['source'];
  const name = text.slice(dot + 1);
  return { source, name: source === 'header' ? name.toLowerCase() : name };
}

/** Whether a vary list covers a forwarded header: any `cookie.*` entry for cookie, `header.NAME` otherwise. */
function variesOn(vary: readonly TemplateVariable[], header: string): boolean {
  return header === 'cookie' ? vary.some((v) => v.source === 'cookie') : vary.some((v) => v.source === 'header' && v.name === header);
}

/** `pricing.example.com` means https; an explicit scheme and port are kept. */
/** `{params.x}` as written in a src that has other problems: still checked against the route. */
function paramsWritten(raw: string): Array<{ name: string; offset: number }> {
  return [...raw.matchAll(/\{\s*params\.([^}|\s]+)[^}]*\}/g)].map((m) => ({ name: m[1], offset: m.index }));
}

/** The origin an absolute src names in its literal text (none when a variable sits in the host). */
function literalOrigin(raw: string): string | undefined {
  const match = /^(https?:\/\/[^/?#{}]+)(?=[/?#]|$)/i.exec(raw);
  return match ? parseUrl(match[1])?.origin : undefined;
}

export function hostOrigin(host: string): string | undefined {
  const candidate = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `https://${host}`;
  const url = parseUrl(candidate);
  if (!url) return undefined;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) return undefined;
  return url.origin;
}

export function patternParams(pattern: string): string[] {
  return [...pattern.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
}

/** Static segments beat parameters, parameters beat wildcards; longer beats shorter. */
function specificity(pattern: string): number[] {
  return pattern
    .split('/')
    .filter(Boolean)
    .map((segment) => (/[*(]/.test(segment) ? 1 : segment.includes(':') ? 2 : 3));
}

function compareSpecificity(a: string, b: string): number {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    if (sa[i] !== sb[i]) return sb[i] - sa[i];
  }
  return sb.length - sa.length;
}

/** Orders every pattern of every route, most specific first (stable for ties). */
export function assembleManifests(routes: CompiledRoute[]): CompiledManifests {
  const patterns = routes
    .flatMap((route, index) => route.patterns.map((pattern) => ({ pattern, route: index })))
    .sort((a, b) => compareSpecificity(a.pattern, b.pattern));
  return { version: COMPILED_ROUTES_VERSION, routes, patterns };
}
