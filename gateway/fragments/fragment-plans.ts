import type { OutOfOrderSpec } from '../contract/fragment-source';
import type { CompiledRoute, FragmentSpec, IncludeAttributes, PlacementMode, SrcTemplate } from '../contract/types';
import { type DevOverrides, overrideUrl } from '../fetch/dev-overrides';
import type { HostPolicy } from '../fetch/host-policy';
import { parseDuration } from '../lib/duration';
import type { PageEsi } from '../markup/page-esi';
import type { Assignment } from '../request/experiment-assignment';
import { type RequestVars, resolveSrc } from '../request/request-vars';
import { isNegotiationHeader } from '../request/visitor-inputs';
import type { CachePlan, FailurePlan, ResolvedUrl } from './attempt';
import type { FragmentCache } from './cache/fragment-cache';
import type { LastGoodLayer } from './cache/last-good-layer';
import type { VersionStore } from './cache/versions';
import { armedSpec } from './variant-plans';

/**
 * What a marker asks for, before anything is fetched: its entry key (one
 * fetch per key and page), where its src and fallback resolve to under the
 * host rule, its timeout, and how it is cached. A data-slot or an include with
 * an `id` is a declared fragment; any other include gets the route's defaults,
 * with Akamai's `maxwait`, `ttl` and `no-store` attributes on top.
 */
export interface SessionCache {
  store: FragmentCache;
  versions: VersionStore;
  /** L3, when the TESSERA_LAST_GOOD namespace is bound. */
  lastGood?: LastGoodLayer;
  /** The Durable Object namespace behind `coalesce: global`. */
  coalescer?: DurableObjectNamespace;
}

export interface PlanContext {
  route: CompiledRoute;
  policy: HostPolicy;
  vars: RequestVars;
  request: Request;
  /** The page's ESI state, when the page is processed as ESI (include src variables, relative base). */
  esi?: PageEsi;
  overrides?: DevOverrides;
  /** Every fragment placed this way, whatever the manifest says (a preview). */
  placement?: PlacementMode;
  cache?: SessionCache;
  waitUntil: (work: Promise<unknown>) => void;
}

export type ChainPlan = Omit<FailurePlan, 'rank' | 'key' | 'fault'>;

/** A marker's plan: its key, its failure chain (built only if the key is new to the page), and its placement. */
export interface MarkerPlan {
  key: string;
  chain: () => ChainPlan;
  outOfOrder?: OutOfOrderSpec;
  /** For a declared fragment whose src resolved: the URL, so an include of the same URL joins it (in an experiment, the declared src's too). */
  declaredUrls?: string[];
  /** For a fragment in an experiment: the page's arm of it. */
  arm?: Assignment;
}

export function declaredPlan(context: PlanContext, declared: FragmentSpec): MarkerPlan {
  // In an experiment, the page's arm of the fragment (variant-plans.ts); the fragment as declared otherwise.
  const { spec, arm } = armedSpec(context.vars, declared);
  const primary = overridden(context, resolveTemplate(context, spec.src), spec.id);
  const fallback = spec.fallback.src;
  const declaredUrls = primary.kind === 'allowed' ? [primary.url.href] : [];
  if (spec.src !== declared.src) {
    // An include of the declared src is this fragment too, and renders the page's arm: a page never mixes arms.
    const asDeclared = resolveTemplate(context, declared.src);
    if (asDeclared.kind === 'allowed') declaredUrls.push(asDeclared.url.href);
  }
  return {
    key: `id:${spec.id}`,
    declaredUrls,
    arm,
    outOfOrder: (context.placement ?? spec.placement) === 'out-of-order' ? { placeholder: spec.placeholder, fallbackHtml: spec.fallback.html } : undefined,
    chain: () => ({
      id: spec.id,
      primary,
      fallbackSrc: fallback ? () => overridden(context, resolveTemplate(context, fallback), undefined) : undefined,
      fallbackHtml: spec.fallback.html,
      keep: spec.fallback.keep,
      timeoutMs: spec.timeoutMs,
      forwardHeaders: spec.forwardHeaders,
      contentTypes: spec.contentTypes,
      cache: cachePlan(context, spec.id, spec.id, spec, arm),
    }),
  };
}

/** An undeclared include's plan; `undefined` when it names nothing. `declaredKey` finds a declared fragment of the same URL. */
export function includePlan(
  context: PlanContext,
  include: IncludeAttributes,
  declaredKey: (url: string) => string | undefined,
): MarkerPlan | { joins: string } | undefined {
  const { esi, route } = context;
  const src = esi ? esi.url(include.src) : include.src?.trim();
  if (!src) return undefined;
  const base = esi?.base;
  const primary = overridden(context, resolvePlain(context, src, base), undefined);
  const declared = primary.kind === 'allowed' ? declaredKey(primary.url.href) : undefined;
  if (declared) return { joins: declared };
  const alt = (esi ? esi.url(include.alt) : include.alt?.trim()) || undefined;
  const { defaults } = route;
  const settings = includeSettings(include, defaults);
  return {
    key: `url:${primary.kind === 'allowed' ? primary.url.href : src}|${alt ?? ''}`,
    outOfOrder: (context.placement ?? route.placement) === 'out-of-order' ? {} : undefined,
    chain: () => ({
      id: src,
      primary,
      fallbackSrc: alt ? () => overridden(context, resolvePlain(context, alt, base), undefined) : undefined,
      keep: false,
      timeoutMs: settings.timeoutMs,
      forwardHeaders: defaults.forwardHeaders,
      contentTypes: defaults.contentTypes,
      // The budget follows the src as the page wrote it: variables a visitor fills in must not make new budgets.
      cache: cachePlan(context, src, include.src ?? src, {
        ...defaults,
        ttlMs: settings.ttlMs,
        vary: [],
        tags: [],
        lastGood: false,
        coalesce: 'isolate',
        staleWhileRevalidateMs: 0,
        staleIfErrorMs: 0,
      }),
    }),
  };
}

/**
 * How a fragment is cached, if at all. Its key covers the values of its
 * `vary` entries and of the negotiation headers it forwards; credentials it
 * forwards must be named in `vary` (the manifest validator insists), so one
 * visitor's answer is never another's. A fragment in an experiment is cached
 * per arm: the arm is in its key, whatever its src, and its version includes
 * the arm's own (`<fragment>:<arm>`), so one arm can be purged alone.
 */
function cachePlan(
  context: PlanContext,
  id: string,
  budget: string,
  spec: Pick<
    FragmentSpec,
    'ttlMs' | 'staleWhileRevalidateMs' | 'staleIfErrorMs' | 'vary' | 'forwardHeaders' | 'contentTypes' | 'tags' | 'lastGood' | 'coalesce'
  >,
  arm?: Assignment,
): CachePlan | undefined {
  const { cache, vars, request, route } = context;
  if (spec.ttlMs <= 0 || !cache) return undefined;
  const varies = spec.vary.map((variable) => `${variable.source}.${variable.name}=${vars.get(variable) ?? ''}`);
  for (const header of spec.forwardHeaders) {
    if (isNegotiationHeader(header)) varies.push(`header.${header}=${request.headers.get(header) ?? ''}`);
  }
  // What decides whether an answer is accepted at all: a body one route refuses must never be another's hit.
  varies.push(`accept=${spec.contentTypes.join(',')}`, `max-bytes=${route.limits.maxFragmentBytes}`);
  if (arm) varies.push(`arm=${arm.experiment}:${arm.arm}`);
  return {
    variantGroup: `${route.name}\n${budget}`,
    maxVariants: route.limits.variantsPerFragment,
    ttlMs: spec.ttlMs,
    staleWhileRevalidateMs: spec.staleWhileRevalidateMs,
    staleIfErrorMs: spec.staleIfErrorMs,
    varies,
    version: cache.versions.version(id, spec.tags, context.waitUntil, arm?.arm),
    lastGood: spec.lastGood ? cache.lastGood : undefined,
    global: spec.coalesce === 'global',
  };
}

/** Under `tessera dev --override`, an allowed URL may be pointed at a local server. */
function overridden(context: PlanContext, resolved: ResolvedUrl, fragmentId: string | undefined): ResolvedUrl {
  const { overrides } = context;
  if (!overrides || resolved.kind !== 'allowed') return resolved;
  return { kind: 'allowed', url: overrideUrl(resolved.url, fragmentId, overrides) };
}

function resolvePlain(context: PlanContext, src: string, base?: string): ResolvedUrl {
  const url = context.policy.resolve(src, base);
  return url ? { kind: 'allowed', url } : { kind: 'refused', src };
}

function resolveTemplate(context: PlanContext, template: SrcTemplate): ResolvedUrl {
  const resolved = resolveSrc(template, context.vars);
  return resolved.ok ? resolvePlain(context, resolved.src) : { kind: 'unresolved', problem: resolved.problem };
}

/**
 * An undeclared include's timeout and cache lifetime: Akamai's `maxwait`
 * (milliseconds) and `ttl` (`30s`, `5m`, …) or `no-store` override the route's
 * defaults.
 */
function includeSettings(include: IncludeAttributes, defaults: CompiledRoute['defaults']): { timeoutMs: number; ttlMs: number } {
  const maxwait = Number(include.maxwait);
  const ttl = include.ttl ? parseDuration(include.ttl) : undefined;
  return {
    timeoutMs: Number.isInteger(maxwait) && maxwait > 0 ? maxwait : defaults.timeoutMs,
    ttlMs: include['no-store'] !== null && include['no-store'] !== undefined ? 0 : (ttl ?? defaults.ttlMs),
  };
}
