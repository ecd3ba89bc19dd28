import type { OutOfOrderSpec, PlacedFragment, Placement } from '../contract/fragment-source';
import type { FragmentSpec, IncludeAttributes } from '../contract/types';
import { type FragmentObserver, outcomeEvent } from '../observe/fragment-events';
import type { Assignment } from '../request/experiment-assignment';
import type { Fault } from '../request/fault-injection';
import type { FailurePlan, FetchContext } from './attempt';
import { chainFailure, runFailureChain } from './failure-chain';
import { type ChainPlan, declaredPlan, includePlan, type MarkerPlan, type PlanContext } from './fragment-plans';

/**
 * The fragments of one page, one entry per key: every marker that asks for
 * the same key shares one failure chain. The table starts each chain when its
 * marker is first asked about, ranks queued fetches, and counts what is still
 * in flight. It knows nothing of markup: the session and the discovery read
 * and render around it.
 */
export interface Entry {
  key: string;
  id: string;
  depth: number;
  settled: Promise<PlacedFragment>;
  /** Set once settled: for Server-Timing, and so the assembler places it without waiting. */
  placed?: PlacedFragment;
  /** Set when the fragment is placed out of order. */
  outOfOrder?: OutOfOrderSpec;
  /** Set for a fragment in an experiment: the page's arm of it. */
  arm?: Assignment;
}

export interface FragmentTableOptions {
  plans: PlanContext;
  fetchContext: FetchContext;
  observer: FragmentObserver;
  /** When the page request began (Date.now()), which event times count from. */
  began: number;
  /** Outcomes forced by `tessera-fault`, by fragment id or src. */
  faults?: ReadonlyMap<string, Fault>;
  /** Told of each entry once it settled (the session starts its nested includes). */
  settled: (entry: Entry, fragment: PlacedFragment) => void;
}

/** Ranks after every position a page can have (maxIncludes bounds them). */
const UNSEEN = 1_000_000;

export class FragmentTable {
  private readonly entries = new Map<string, Entry>();
  /** Document order of the markers seen so far, by entry key: queued fetches go in this order. */
  private readonly positions = new Map<string, number>();
  private readonly declaredByUrl = new Map<string, string>();
  private unsettled = 0;
  /** Set while the scanner reports an include: its fetch starts on the next turn (see `nextTurn`). */
  private deferStarts = false;
  private turn: Promise<void> | undefined;

  constructor(private readonly options: FragmentTableOptions) {}

  /** Whether any fragment of the page is still in flight. */
  get waiting(): boolean {
    return this.unsettled > 0;
  }

  declared(spec: FragmentSpec, depth: number): Entry {
    return this.entries.get(`id:${spec.id}`) ?? this.start(declaredPlan(this.options.plans, spec), depth);
  }

  /** The entry of an include; `undefined` when it names nothing. */
  included(include: IncludeAttributes, depth: number): Entry | undefined {
    const byId = include.id ? this.options.plans.route.fragments[include.id] : undefined;
    if (byId) return this.declared(byId, depth);
    const plan = includePlan(this.options.plans, include, (url) => this.declaredByUrl.get(url));
    if (!plan) return undefined;
    if ('joins' in plan) return this.entries.get(plan.joins);
    return this.entries.get(plan.key) ?? this.start(plan, depth);
  }

  /** A declared fragment's entry, if a marker or the prefetch started it. */
  byId(id: string): Entry | undefined {
    return this.entries.get(`id:${id}`);
  }

  /** Starts made inside `work` wait for the next turn of the event loop (see `nextTurn`). */
  deferring<T>(work: () => T): T {
    this.deferStarts = true;
    try {
      return work();
    } finally {
      this.deferStarts = false;
    }
  }

  /** Notes the entry's place in the document, the first time a marker for it is seen. */
  seen(entry: Entry): Entry {
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

  private start(plan: MarkerPlan, depth: number): Entry {
    const { key } = plan;
    const chain: ChainPlan = plan.chain();
    for (const url of plan.declaredUrls ?? []) this.declaredByUrl.set(url, key);
    const { maxIncludes } = this.options.plans.route.limits;
    if (this.entries.size >= maxIncludes) {
      const refused: PlacedFragment = {
        key,
        result: chainFailure(chain.id, 'error', 'empty', `more than ${maxIncludes} includes on this page`, 0),
        surrogateEsi: false,
      };
      return { key, id: chain.id, depth, settled: Promise.resolve(refused), placed: refused };
    }
    const started = this.entries.size;
    const fault = this.options.faults?.get(chain.id);
    const ranked: FailurePlan = { ...chain, key, fault, rank: (expectedMs) => this.rank(key, started, expectedMs) };
    const { observer, began, fetchContext } = this.options;
    observer.event({ type: 'start', key, fragment: chain.id, at: Date.now() - began });
    if (plan.arm) observer.event({ type: 'assigned', key, fragment: chain.id, at: Date.now() - began, assignment: plan.arm });
    const run = this.deferStarts ? this.nextTurn().then(() => runFailureChain(fetchContext, ranked)) : runFailureChain(fetchContext, ranked);
    const entry: Entry = { key, id: chain.id, depth, settled: run.then((settled) => ({ key, ...settled })), outOfOrder: plan.outOfOrder, arm: plan.arm };
    this.entries.set(key, entry);
    this.unsettled++;
    // The chain must run to its end even when the page's request ends first (the visitor left): workerd cancels a
    // finished request's fetches and timers, and a chain waiting on them would hold its listeners, signals and page
    // for the isolate's life (measured: 1.2 MiB/min of heap under a soak with one visitor in 50 leaving mid-page).
    fetchContext.waitUntil(entry.settled.catch(() => undefined));
    void entry.settled.then((settled) => {
      entry.placed = settled;
      this.unsettled--;
      const at = Date.now() - began;
      observer.event(outcomeEvent(key, at, settled.result));
      observer.event({ type: 'end', key, fragment: chain.id, at, result: settled.result });
      this.options.settled(entry, settled);
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
}

export function placementOf(entry: Entry): Placement {
  return entry.placed ? { ready: true, fragment: entry.placed } : { ready: false, fragment: entry.settled, outOfOrder: entry.outOfOrder };
}
