import type { ExperimentSpec } from '../contract/types';

/**
 * An experiment's weights as they stand now: the manifest's, or an override
 * from the `TESSERA_EXPERIMENTS` KV namespace, so a rollout (10 → 50 → 100)
 * or a kill switch (0) needs no deploy. One key per experiment, named as the
 * experiment, holding JSON arm → weight: `{"new": 50}`. Arms it does not name
 * keep the manifest's weight.
 *
 * Each isolate keeps what it read for `memoMs` (10 s), then serves it while
 * one background read refreshes it; KV itself caches a value at the edge for
 * `KV_CACHE_TTL_S` (30 s). A change is therefore live everywhere within about
 * 40 s of the write reaching KV. Only an isolate's first page of an
 * experiment waits for KV, and no longer than `FIRST_READ_BOUND_MS`.
 * A missing key, a value that is not valid weights (logged), and no binding
 * mean the manifest's weights; a failing read keeps what was last read, or the
 * manifest's.
 */
export interface ArmWeight {
  name: string;
  /** Percent, in steps of 0.01. */
  weight: number;
}

/** Work that must outlive the page that started it (`ctx.waitUntil`). */
export type KeepAlive = (work: Promise<unknown>) => void;

export interface WeightSource {
  /** The variants' weights, in the experiment's order. */
  weights(experiment: ExperimentSpec, keepAlive: KeepAlive): Promise<readonly ArmWeight[]>;
}

/** No KV namespace: the manifest's weights. */
export const MANIFEST_WEIGHTS: WeightSource = { weights: async (experiment) => experiment.variants };

export const WEIGHTS_MEMO_MS = 10_000;
export const KV_CACHE_TTL_S = 30;
/** A first read slower than this serves the page with the manifest's weights; the read still lands in the memo. */
export const FIRST_READ_BOUND_MS = 500;
const READ_BOUND_MS = 2_000;

/** What KV holds for an experiment, as read: its raw text (null: no key). */
interface Reading {
  raw: string | null;
  readAt: number;
}

export class KvExperimentWeights implements WeightSource {
  private readonly memo = new Map<string, Reading>();
  /** Reads in flight, each shared until it settles; one older than `READ_BOUND_MS` is not joined (workerd may have cancelled it with its page). */
  private readonly reads = new Map<string, { reading: Promise<Reading>; startedAt: number }>();
  /** Values already refused, so each is logged once per isolate. */
  private readonly refused = new Set<string>();

  constructor(
    private readonly kv: KVNamespace,
    private readonly now: () => number = Date.now,
    private readonly memoMs = WEIGHTS_MEMO_MS,
  ) {}

  async weights(experiment: ExperimentSpec, keepAlive: KeepAlive): Promise<readonly ArmWeight[]> {
    const known = this.memo.get(experiment.name);
    if (known) {
      if (this.now() - known.readAt >= this.memoMs) keepAlive(this.read(experiment.name));
      return this.applied(experiment, known.raw);
    }
    const read = this.read(experiment.name);
    keepAlive(read);
    let timer = 0;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), FIRST_READ_BOUND_MS);
    });
    const reading = await Promise.race([read, late]);
    clearTimeout(timer);
    return this.applied(experiment, reading?.raw ?? null);
  }

  /** One read per experiment at a time; it lands in the memo whatever became of the page that started it. */
  private read(name: string): Promise<Reading> {
    const shared = this.reads.get(name);
    if (shared && this.now() - shared.startedAt < READ_BOUND_MS) return shared.reading;
    const read: Promise<Reading> = this.kv
      .get(name, { cacheTtl: KV_CACHE_TTL_S })
      .catch((error: unknown) => {
        console.error(`tessera: TESSERA_EXPERIMENTS read of "${name}" failed; keeping the weights known before:`, error);
        return this.memo.get(name)?.raw ?? null;
      })
      .then((raw) => {
        const reading = { raw, readAt: this.now() };
        this.memo.set(name, reading);
        return reading;
      })
      .finally(() => {
        if (this.reads.get(name)?.reading === read) this.reads.delete(name);
      });
    this.reads.set(name, { reading: read, startedAt: this.now() });
    return read;
  }

  /** The experiment's weights with an override applied; the manifest's when there is none or it is not valid. */
  private applied(experiment: ExperimentSpec, raw: string | null): readonly ArmWeight[] {
    if (raw === null) return experiment.variants;
    const parsed = parseOverride(experiment, raw);
    if (typeof parsed !== 'string') return parsed;
    const said = `${experiment.name}\n${raw}`;
    if (!this.refused.has(said)) {
      this.refused.add(said);
      console.error(`tessera: TESSERA_EXPERIMENTS "${experiment.name}": ${parsed}; using the manifest's weights`);
    }
    return experiment.variants;
  }
}

/**
 * A KV value as weights: JSON arm → percent (0–100, steps of 0.01), arms of
 * the experiment only, adding up to at most 100 with the arms it leaves out.
 * A string says what is wrong with it.
 */
export function parseOverride(experiment: ExperimentSpec, raw: string): readonly ArmWeight[] | string {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return `expected JSON such as {"${experiment.variants[0]?.name ?? 'new'}": 50}, got ${JSON.stringify(raw.slice(0, 80))}`;
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return `expected a JSON object of arm → weight, got ${JSON.stringify(raw.slice(0, 80))}`;
  const given = data as Record<string, unknown>;
  for (const [arm, weight] of Object.entries(given)) {
    if (!experiment.variants.some((v) => v.name === arm)) return `no arm "${arm}" (it has ${experiment.variants.map((v) => v.name).join(', ')})`;
    if (typeof weight !== 'number' || !(weight >= 0 && weight <= 100) || Math.abs(weight * 100 - Math.round(weight * 100)) > 1e-6) {
      return `expected a percentage from 0 to 100 in steps of 0.01 for "${arm}", got ${JSON.stringify(weight)}`;
    }
  }
  const weights = experiment.variants.map((v) => ({ name: v.name, weight: typeof given[v.name] === 'number' ? (given[v.name] as number) : v.weight }));
  const total = weights.reduce((sum, w) => sum + Math.round(w.weight * 100), 0);
  if (total > 10_000) return `expected weights that add up to at most 100, got ${total / 100}`;
  return weights;
}
