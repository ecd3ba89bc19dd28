import type { FragmentSource, PlacedFragment, Placement, SettledFragment, TryBlock } from '../contract/fragment-source';
import type { CompiledRoute, FragmentResult, IncludeAttributes, PlacementMode } from '../contract/types';
import { wasFetched } from '../contract/types';
import type { ConnectionSlots } from '../fetch/connection-slots';
import type { DevOverrides } from '../fetch/dev-overrides';
import type { HeaderLatency } from '../fetch/header-latency';
import type { HostPolicy } from '../fetch/host-policy';
import { discoveryOnly, MarkupScanner } from '../markup/markup-scanner';
import type { PageEsi } from '../markup/page-esi';
import type { FragmentObserver } from '../observe/fragment-events';
import type { TraceContext } from '../observe/trace-context';
import type { Fault } from '../request/fault-injection';
import type { RequestVars } from '../request/request-vars';
import { PageExposures } from './exposures';
import { FragmentDiscovery } from './fragment-discovery';
import type { SessionCache } from './fragment-plans';
import { type Entry, FragmentTable, placementOf } from './fragment-table';

export type { SessionCache } from './fragment-plans';

/**
 * Everything one page request knows about its fragments: it fetches and
 * settles them; the assembler renders them. Fragments are *consumed in
 * parallel and flushed in series*: every fetch starts as early as it can (at
 * request start for declared fragments, from the look-ahead scan for
 * undeclared includes, as soon as a fragment arrives for the includes inside
 * it), and the assembling rewriter only ever awaits work already in flight.
 * Identical fragments within the request share one fetch.
 *
 * The session is the assembler's `FragmentSource`; `discovery` is the
 * look-ahead scan's face of the same fragments.
 */
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
  private readonly table: FragmentTable;
  private readonly abort = new AbortController();
  /** Each fragment's markup after the ESI pass, made once: discovery reads it, then the assembler renders it. */
  private readonly esiApplied = new WeakMap<FragmentResult, string>();
  readonly discovery: FragmentDiscovery;
  readonly maxDepth: number;
  /** Settled fragments whose nested includes wait for the page's ESI decision; `undefined` once it is known. */
  private undecided: Array<{ entry: Entry; fragment: PlacedFragment }> | undefined = [];
  /** Experiment fragments whose markers the assembler reached: their exposures. */
  private readonly exposures: PageExposures;

  constructor(private readonly options: FragmentSessionOptions) {
    const { route, policy, request, fetch, waitUntil, slots, latency, trace, observer, began } = options;
    const signal = AbortSignal.any([options.signal, this.abort.signal]);
    const fetchContext = {
      ...{ route, policy, request, fetch, slots, latency, trace, observer, began, signal, waitUntil },
      cache: options.cache?.store,
      host: new URL(request.url).host,
      coalescer: options.cache?.coalescer,
    };
    const plans = {
      route,
      policy,
      vars: options.vars,
      request,
      esi: options.esi,
      overrides: options.overrides,
      placement: options.placement,
      cache: options.cache,
      waitUntil,
    };
    this.table = new FragmentTable({
      plans,
      fetchContext,
      observer,
      began,
      faults: options.faults,
      settled: (entry, fragment) => this.discoverInside(entry, fragment),
    });
    this.discovery = new FragmentDiscovery(this.table, (include) => this.inline(include));
    this.exposures = new PageExposures(observer, began);
    this.maxDepth = route.limits.maxDepth;
  }

  /** Starts every declared fragment whose src resolves from the request. */
  prefetchDeclared(): void {
    for (const spec of Object.values(this.options.route.fragments)) this.table.declared(spec, 0);
  }

  /** Required fragments settle before the status line is sent; ok when all delivered fetched content. */
  async requiredDelivered(): Promise<{ ok: boolean; failed: FragmentResult[] }> {
    const required = Object.values(this.options.route.fragments).filter((f) => f.required);
    const settled = await Promise.all(required.map((spec) => this.table.declared(spec, 0).settled));
    const failed = settled.map((s) => s.result).filter((r) => !wasFetched(r));
    return { ok: failed.length === 0, failed };
  }

  /** Stops fragment work nobody will read (the page turned out not to need assembly). */
  cancel(): void {
    this.abort.abort(new Error('page request finished'));
  }

  /** The fragment for `<div data-slot="id">`; `undefined` for a slot the manifest does not declare. */
  slot(id: string, depth: number): Placement | undefined {
    const spec = this.options.route.fragments[id];
    return spec ? this.placed(this.table.declared(spec, depth)) : undefined;
  }

  /** The fragment for an `<esi:include>`; `undefined` when it names nothing. */
  include(include: IncludeAttributes, depth: number): Placement | undefined {
    const entry = this.table.included(include, depth);
    return entry ? this.placed(entry) : undefined;
  }

  /** The assembler reached the entry's marker: it is placed here, which for a fragment in an experiment is an exposure. */
  private placed(entry: Entry): Placement {
    this.exposures.reach(entry);
    return placementOf(this.table.seen(entry));
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

  esiMarkup(fragment: SettledFragment): string {
    const html = fragment.result.html ?? '';
    const { esi } = this.options;
    if (!esi) return html;
    let applied = this.esiApplied.get(fragment.result);
    if (applied === undefined) {
      applied = esi.applyTo(html);
      this.esiApplied.set(fragment.result, applied);
    }
    return applied;
  }

  tryBlock(index: number): TryBlock | undefined {
    return this.options.esi?.tryBlock(index);
  }

  includeFailed(include: IncludeAttributes, fragment: PlacedFragment): void {
    this.options.onIncludeFailed?.(include, fragment);
  }

  /** Whether `<esi:include>` inside this fragment is processed: decided when it is rendered, when the page's own opt-in is known. */
  esiInside(fragment: SettledFragment): boolean {
    const { esi } = this.options.route;
    return esi === 'on' || (esi === 'auto' && (this.options.pageEsi() || fragment.surrogateEsi));
  }

  /**
   * The origin's headers said whether the page is ESI. Fragments that settled
   * before (cache hits, fragments faster than the origin) had their nested
   * includes left for this moment under `esi: auto`: they start now, not when
   * the rewriter reaches them.
   */
  pageEsiDecided(): void {
    const waiting = this.undecided;
    this.undecided = undefined;
    for (const { entry, fragment } of waiting ?? []) this.discoverInside(entry, fragment);
  }

  /** Starts the includes inside a fragment as soon as it settles, not when the rewriter reaches them. */
  private discoverInside(entry: Entry, fragment: PlacedFragment): void {
    const { html } = fragment.result;
    if (!html || !wasFetched(fragment.result) || entry.depth + 1 > this.maxDepth || !/<esi:|<!--esi/.test(html)) return;
    if (!this.esiInside(fragment)) {
      // Under esi: auto the page may still turn out to be ESI: look again once its headers say.
      if (this.undecided && this.options.route.esi === 'auto') this.undecided.push({ entry, fragment });
      return;
    }
    // After the ESI pass: includes in branches that are not taken are never fetched.
    const scanner = new MarkupScanner(
      discoveryOnly((nested) => this.discovery.include(nested, entry.depth + 1)),
      true,
    );
    scanner.pieces(new TextEncoder().encode(this.esiMarkup(fragment)));
  }
}
