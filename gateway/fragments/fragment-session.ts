import type { FragmentSource, OutOfOrderSpec, PlacedFragment, Placement, SettledFragment, TryBlock } from '../contract/fragment-source';
import type { CompiledRoute, FragmentResult, FragmentSpec, IncludeAttributes, PlacementMode, SrcTemplate } from '../contract/types';
import { wasFetched } from '../contract/types';
import type { ConnectionSlots } from '../fetch/connection-slots';
import { type DevOverrides, overrideUrl } from '../fetch/dev-overrides';
import type { HeaderLatency } from '../fetch/header-latency';
import type { HostPolicy } from '../fetch/host-policy';
import { parseDuration } from '../lib/duration';
import { discoveryOnly, MarkupScanner } from '../markup/markup-scanner';
import type { PageEsi } from '../markup/page-esi';
import { type FragmentObserver, outcomeEvent } from '../observe/fragment-events';
import type { TraceContext } from '../observe/trace-context';
import type { Fault } from '../request/fault-injection';
import { type RequestVars, resolveSrc } from '../request/request-vars';
import { isNegotiationHeader } from '../request/visitor-inputs';
import type { CachePlan, FailurePlan, FetchContext, ResolvedUrl } from './attempt';
import type { FragmentCache } from './cache/fragment-cache';
import type { LastGoodLayer } from './cache/last-good-layer';
import type { VersionStore } from './cache/versions';
import { chainFailure, runFailureChain } from './failure-chain';

/**
 * Everything one page request knows about its fragments: it fetches and
 * settles them; the assembler renders them. Fragments are *consumed in
 * parallel and flushed in series*: every fetch starts as early as it can (at
 * request start for declared fragments, from the look-ahead scan for
 * undeclared includes, as soon as a fragment arrives for the includes inside
 * it), and the assembling rewriter only ever awaits work already in flight.
 * Identical fragments within the request share one fetch.
 */

interface Entry {
  key: string;
  id: string;
  settled: Promise<PlacedFragment>;
  /** Set once settled: for Server-Timing, and so the assembler places it without waiting. */
  placed?: PlacedFragment;
  /** Set when the fragment is placed out of order. */
  outOfOrder?: OutOfOrderSpec;
}

export interface SessionCache {
  store: FragmentCache;
  versions: VersionStore;
  /** L3, when the TESSERA_LAST_GOOD namespace is bound. */
  lastGood?: LastGoodLayer;
  /** The Durable Object namespace behind `coalesce: global`. */
  coalescer?: DurableObjectNamespace;
}

export interface FragmentSessionOptions {
  route: CompiledRoute;
  policy: HostPolicy;
  vars: RequestVars;
  request: Request;
  fetch: typeof fetch;
  /** The page's lifetime: when it aborts (client gone, deadline), every fragment fetch stops. */
  signal: AbortSignal;
  /** The page's connection slots, which the origin request holds one of too. */
  slots: ConnectionSlots;
  /** The isolate's memory of fragment latencies, which orders the queue. */
  latency: HeaderLatency;
  /** The page's trace context. */
  trace: TraceContext;
  /** Where each fragment's lifecycle events go. */
  observer: FragmentObserver;
  /** When the page request began (Date.now()), which event times count from. */
  began: number;
  /** The page's ESI state, when the page is processed as ESI. */
  esi?: PageEsi;
  /** Outcomes forced by `tessera-fault`, by fragment id or src. */
  faults?: ReadonlyMap<string, Fault>;
  /** `tessera dev --override`: fragments or hosts served from a local server. */
  overrides?: DevOverrides;
  /** Every fragment placed this way, whatever the manifest says (a preview). */
  placement?: PlacementMode;
  /** An include failed outside any esi:try, with no onerror="continue". */
  onIncludeFailed?: (include: IncludeAttributes, fragment: PlacedFragment) => void;
  /** Whether the page itself had ESI processing switched on (known once the origin answered). */
  pageEsi: () => boolean;
  /** The isolate's fragment cache and the versions its keys include. */
  cache?: SessionCache;
  waitUntil: (work: Promise<unknown>) => void;
}

export class FragmentSession implements FragmentSource {
  private readonly entries = new Map<string, Entry>();
  /** Document order of the markers seen so far, by entry key: queued fetches go in this order. */
  private readonly positions = new Map<string, number>();
  private unsettled = 0;
  /** Set while the scanner reports an include: its fetch starts on the next turn (see `nextTurn`). */
  private discovering = false;
  private turn: Promise<void> | undefined;
  private readonly declaredByUrl = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly fetchContext: FetchContext;
  readonly maxDepth: number;

  constructor(private readonly options: FragmentSessionOptions) {
    const { route, policy, request, fetch, waitUntil } = options;
    const cache = options.cache?.store;
    const signal = AbortSignal.any([options.signal, this.abort.signal]);
    const host = new URL(request.url).host;
    const coalescer = options.cache?.coalescer;
    const { slots, latency, trace, observer, began } = options;
    this.fetchContext = { route, policy, request, fetch, slots, latency, trace, observer, began, signal, cache, waitUntil, host, coalescer };
    this.maxDepth = route.limits.maxDepth;
  }

  /** Starts every declared fragment whose src resolves from the request. */
  prefetchDeclared(): void {
    for (const spec of Object.values(this.options.route.fragments)) this.declaredEntry(spec, 0);
  }

  /** Required fragments settle before the status line is sent; ok when all delivered fetched content. */
  async requiredDelivered(): Promise<{ ok: boolean; failed: FragmentResult[] }> {
    const required = Object.values(this.options.route.fragments).filter((f) => f.required);
    const settled = await Promise.all(required.map((spec) => this.declaredEntry(spec, 0).settled));
    const failed = settled.map((s) => s.result).filter((r) => !wasFetched(r));
    return { ok: failed.length === 0, failed };
  }

  /** The fragment for `<div data-slot="id">`; `undefined` for a slot the manifest does not declare. */
  slot(id: string, depth: number): Placement | undefined {
    const spec = this.options.route.fragments[id];
    return spec ? placement(this.seen(this.declaredEntry(spec, depth))) : undefined;
  }

  /** The fragment for an `<esi:include>`; `undefined` when it names nothing. */
  include(include: IncludeAttributes, depth: number): Placement | undefined {
    const entry = this.includeEntry(include, depth);
    return entry ? placement(this.seen(entry)) : undefined;
  }

  /**
   * The markup scanner passed an include the rewriter has not reached yet: its
   * fetch starts now. Whether the rewriter will have to wait for it there.
   */
  discover(include: IncludeAttributes, depth = 0): boolean {
    this.discovering = true;
    try {
      const entry = this.includeEntry(include, depth);
      return entry !== undefined && !this.seen(entry).placed;
    } finally {
      this.discovering = false;
    }
  }

  /**
   * An include inside a script or style, which the rewriter cannot see: its
   * content as bytes, inserted as it is (it is text there). A failure is empty.
   */
  async inline(include: IncludeAttributes): Promise<Uint8Array> {
    try {
      const placement = this.include(include, 0);
      if (!placement) return new Uint8Array(0);
      const fragment = placement.ready ? placement.fragment : await placement.fragment;
      if (!wasFetched(fragment.result) && include.onerror !== 'continue') this.includeFailed(include, fragment);
      return new TextEncoder().encode(fragment.result.html ?? '');
    } catch (error) {
      console.error(`tessera: esi:include src="${include.src}" in raw text failed unexpectedly:`, error);
      return new Uint8Array(0);
    }
  }

  applyEsi(html: string): string {
    return this.options.esi ? this.options.esi.applyTo(html) : html;
  }

  tryBlock(index: number): TryBlock | undefined {
    return this.options.esi?.tryBlock(index);
  }

  includeFailed(include: IncludeAttributes, fragment: PlacedFragment): void {
    this.options.onIncludeFailed?.(include, fragment);
  }

  /** Whether any fragment of the page is still in flight. */
  waiting(): boolean {
    return this.unsettled > 0;
  }

  /** The markup scanner passed `<… data-slot="id">`; whether the rewriter will have to wait for it there. */
  sighted(id: string): boolean {
    const entry = this.entries.get(`id:${id}`);
    return entry !== undefined && !this.seen(entry).placed;
  }

  /** Whether `<esi:include>` inside this fragment is processed: decided when it is rendered, when the page's own opt-in is known. */
  esiInside(fragment: SettledFragment): boolean {
    const { esi } = this.options.route;
    return esi === 'on' || (esi === 'auto' && (this.options.pageEsi() || fragment.surrogateEsi));
  }

  /** Stops fragment work nobody will read (the page turned out not to need assembly). */
  cancel(): void {
    this.abort.abort(new Error('page request finished'));
  }

  private declaredEntry(spec: FragmentSpec, depth: number): Entry {
    const key = `id:${spec.id}`;
    const existing = this.entries.get(key);
    if (existing) return existing;
    const primary = this.overridden(this.resolveTemplate(spec.src), spec.id);
    if (primary.kind === 'allowed') this.declaredByUrl.set(primary.url.href, key);
    const fallback = spec.fallback.src;
    const outOfOrder =
      (this.options.placement ?? spec.placement) === 'out-of-order' ? { placeholder: spec.placeholder, fallbackHtml: spec.fallback.html } : undefined;
    return this.start(key, depth, outOfOrder, {
      id: spec.id,
      primary,
      fallbackSrc: fallback ? () => this.overridden(this.resolveTemplate(fallback), undefined) : undefined,
      fallbackHtml: spec.fallback.html,
      keep: spec.fallback.keep,
      timeoutMs: spec.timeoutMs,
      forwardHeaders: spec.forwardHeaders,
      contentTypes: spec.contentTypes,
      cache: this.cachePlan(spec.id, spec.id, spec),
    });
  }

  private includeEntry(include: IncludeAttributes, depth: number): Entry | undefined {
    const byId = include.id ? this.options.route.fragments[include.id] : undefined;
    if (byId) return this.declaredEntry(byId, depth);
    const esi = this.options.esi;
    const src = esi ? esi.url(include.src) : include.src?.trim();
    if (!src) return undefined;
    const base = esi?.base;
    const primary = this.overridden(this.resolvePlain(src, base), undefined);
    const declaredKey = primary.kind === 'allowed' ? this.declaredByUrl.get(primary.url.href) : undefined;
    if (declaredKey) return this.entries.get(declaredKey);
    const alt = (esi ? esi.url(include.alt) : include.alt?.trim()) || undefined;
    const key = `url:${primary.kind === 'allowed' ? primary.url.href : src}|${alt ?? ''}`;
    const existing = this.entries.get(key);
    if (existing) return existing;
    const { defaults } = this.options.route;
    const settings = includeSettings(include, defaults);
    return this.start(key, depth, (this.options.placement ?? this.options.route.placement) === 'out-of-order' ? {} : undefined, {
      id: src,
      primary,
      fallbackSrc: alt ? () => this.overridden(this.resolvePlain(alt, base), undefined) : undefined,
      keep: false,
      timeoutMs: settings.timeoutMs,
      forwardHeaders: defaults.forwardHeaders,
      contentTypes: defaults.contentTypes,
      // The budget follows the src as the page wrote it: variables a visitor fills in must not make new budgets.
      cache: this.cachePlan(src, include.src ?? src, {
        ...defaults,
        ttlMs: settings.ttlMs,
        vary: [],
        tags: [],
        lastGood: false,
        coalesce: 'isolate',
        staleWhileRevalidateMs: 0,
        staleIfErrorMs: 0,
      }),
    });
  }

  /**
   * How a fragment is cached, if at all. Its key covers the values of its
   * `vary` entries and of the negotiation headers it forwards; credentials it
   * forwards must be named in `vary` (the manifest validator insists), so one
   * visitor's answer is never another's.
   */
  private cachePlan(
    id: string,
    budget: string,
    spec: Pick<
      FragmentSpec,
      'ttlMs' | 'staleWhileRevalidateMs' | 'staleIfErrorMs' | 'vary' | 'forwardHeaders' | 'contentTypes' | 'tags' | 'lastGood' | 'coalesce'
    >,
  ): CachePlan | undefined {
    const cache = this.options.cache;
    if (spec.ttlMs <= 0 || !cache) return undefined;
    const { vars, request, route } = this.options;
    const varies = spec.vary.map((variable) => `${variable.source}.${variable.name}=${vars.get(variable) ?? ''}`);
    for (const header of spec.forwardHeaders) {
      if (isNegotiationHeader(header)) varies.push(`header.${header}=${request.headers.get(header) ?? ''}`);
    }
    // What decides whether an answer is accepted at all: a body one route refuses must never be another's hit.
    varies.push(`accept=${spec.contentTypes.join(',')}`, `max-bytes=${route.limits.maxFragmentBytes}`);
    const version = cache.versions.version(id, spec.tags, this.options.waitUntil);
    return {
      variantGroup: `${route.name}\n${budget}`,
      maxVariants: this.options.route.limits.variantsPerFragment,
      ttlMs: spec.ttlMs,
      staleWhileRevalidateMs: spec.staleWhileRevalidateMs,
      staleIfErrorMs: spec.staleIfErrorMs,
      varies,
      version,
      lastGood: spec.lastGood ? cache.lastGood : undefined,
      global: spec.coalesce === 'global',
    };
  }

  /** Notes the entry's place in the document, the first time a marker for it is seen. */
  private seen(entry: Entry): Entry {
    if (!this.positions.has(entry.key)) this.positions.set(entry.key, this.positions.size);
    return entry;
  }

  /**
   * Which queued fetch goes next: those whose latency is known, slowest first
   * (see HeaderLatency); then markers seen, in document order; then the rest,
   * in the order they started.
   */
  private rank(key: string, started: number, expectedMs: number | undefined): number {
    if (expectedMs !== undefined) return -expectedMs;
    return this.positions.get(key) ?? UNSEEN + started;
  }

  private start(key: string, depth: number, outOfOrder: OutOfOrderSpec | undefined, plan: Omit<FailurePlan, 'rank' | 'key'>): Entry {
    const { maxIncludes } = this.options.route.limits;
    if (this.entries.size >= maxIncludes) {
      const refused: PlacedFragment = {
        key,
        result: chainFailure(plan.id, 'error', 'empty', `more than ${maxIncludes} includes on this page`, 0),
        surrogateEsi: false,
      };
      return { key, id: plan.id, settled: Promise.resolve(refused), placed: refused };
    }
    const started = this.entries.size;
    const fault = this.options.faults?.get(plan.id);
    const ranked: FailurePlan = { ...plan, key, fault, rank: (expectedMs) => this.rank(key, started, expectedMs) };
    const { observer, began } = this.options;
    observer.event({ type: 'start', key, fragment: plan.id, at: Date.now() - began });
    const chain = this.discovering ? this.nextTurn().then(() => runFailureChain(this.fetchContext, ranked)) : runFailureChain(this.fetchContext, ranked);
    const entry: Entry = { key, id: plan.id, settled: chain.then((settled) => ({ key, ...settled })), outOfOrder };
    this.entries.set(key, entry);
    this.unsettled++;
    void entry.settled.then((settled) => {
      entry.placed = settled;
      this.unsettled--;
      const at = Date.now() - began;
      observer.event(outcomeEvent(key, at, settled.result));
      observer.event({ type: 'end', key, fragment: plan.id, at, result: settled.result });
      // Start the includes inside this fragment now, not when the rewriter reaches them.
      const html = settled.result.html;
      if (html && wasFetched(settled.result) && depth + 1 <= this.maxDepth && /<esi:|<!--esi/.test(html) && this.esiInside(settled)) {
        // After the ESI pass: includes in branches that are not taken are never fetched.
        const scanner = new MarkupScanner(
          discoveryOnly((nested) => this.discover(nested, depth + 1)),
          true,
        );
        scanner.pieces(new TextEncoder().encode(this.applyEsi(html)));
      }
    });
    return entry;
  }

  /**
   * The next turn of the event loop, shared by every include found in one
   * chunk. The scanner finds them just before the chunk goes to the rewriter;
   * starting ten fetches there would hold the chunk, and so the first byte,
   * back by their CPU time.
   */
  private nextTurn(): Promise<void> {
    this.turn ??= new Promise<void>((resolve) =>
      setTimeout(() => {
        this.turn = undefined;
        resolve();
      }, 0),
    );
    return this.turn;
  }

  /** Under `tessera dev --override`, an allowed URL may be pointed at a local server. */
  private overridden(resolved: ResolvedUrl, fragmentId: string | undefined): ResolvedUrl {
    const { overrides } = this.options;
    if (!overrides || resolved.kind !== 'allowed') return resolved;
    return { kind: 'allowed', url: overrideUrl(resolved.url, fragmentId, overrides) };
  }

  private resolvePlain(src: string, base?: string): ResolvedUrl {
    const url = this.options.policy.resolve(src, base);
    return url ? { kind: 'allowed', url } : { kind: 'refused', src };
  }

  private resolveTemplate(template: SrcTemplate): ResolvedUrl {
    const resolved = resolveSrc(template, this.options.vars);
    return resolved.ok ? this.resolvePlain(resolved.src) : { kind: 'unresolved', problem: resolved.problem };
  }
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

/** Ranks after every position a page can have (maxIncludes bounds them). */
const UNSEEN = 1_000_000;

function placement(entry: Entry): Placement {
  return entry.placed ? { ready: true, fragment: entry.placed } : { ready: false, fragment: entry.settled, outOfOrder: entry.outOfOrder };
}
