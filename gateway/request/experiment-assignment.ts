import { isbot } from 'isbot';
import { type CompiledRoute, DEFAULT_ARM, type ExperimentSpec, type FragmentSpec } from '../contract/types';
import type { ArmWeight, KeepAlive, WeightSource } from './experiment-weights';
import type { RequestReadings } from './request-readings';
import { readVisitorId, visitorCookie } from './visitor-id';

/**
 * Which arm of each experiment a visitor gets. A visitor's bucket in an
 * experiment is a hash of the experiment's name and their id, so it is the
 * same on every visit (sticky) and unrelated to their bucket in any other
 * experiment (independent). The variants take the buckets from the first in
 * manifest order, each as many as its weight says; the default arm takes the
 * rest. Raising a variant's weight only adds buckets at its end, so nobody in
 * it leaves (monotone).
 */

/** Buckets per experiment: weights are percentages in steps of 0.01. */
export const BUCKETS = 10_000;

const encoder = new TextEncoder();

/**
 * A visitor's bucket in an experiment, 0 to 9999: the first four bytes of
 * SHA-256 of `<experiment>:<visitor id>` (UTF-8), as a big-endian unsigned
 * integer, times 10,000 / 2^32, rounded down. Written down so that an
 * analysis outside Tessera can recompute it.
 */
export async function bucketOf(experiment: string, visitorId: string): Promise<number> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(`${experiment}:${visitorId}`)));
  const high = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
  return Math.floor((high * BUCKETS) / 2 ** 32);
}

/** The arm a bucket falls in: each variant in order takes its weight's worth of buckets, the default arm the rest. */
export function armOf(bucket: number, weights: readonly ArmWeight[]): string {
  let end = 0;
  for (const { name, weight } of weights) {
    end += Math.round(weight * 100);
    if (bucket < end) return name;
  }
  return DEFAULT_ARM;
}

/**
 * How a page got its arm of one experiment: bucketed (the only way that
 * counts as an exposure), forced by `?tessera-variant` (a preview), or pinned
 * to the default arm for a crawler or a Save-Data visitor (outside the
 * experiment).
 */
export type Assignment =
  | { kind: 'bucketed'; experiment: string; arm: string; bucket: number }
  | { kind: 'forced'; experiment: string; arm: string }
  | { kind: 'pinned'; experiment: string; arm: typeof DEFAULT_ARM; why: 'bot' | 'save-data' };

/** The fragment as an arm renders it: the variant's fields on top of the fragment's; the fragment itself for the default arm. */
export function specForArm(spec: FragmentSpec, arm: string): FragmentSpec {
  const variant = spec.experiment?.variants.find((v) => v.name === arm);
  return variant ? { ...spec, ...variant.fields } : spec;
}

/** The experiments a route's fragments are in, one entry per name. */
export function routeExperiments(route: Pick<CompiledRoute, 'fragments'>): ExperimentSpec[] {
  const byName = new Map<string, ExperimentSpec>();
  for (const fragment of Object.values(route.fragments)) if (fragment.experiment) byName.set(fragment.experiment.name, fragment.experiment);
  return [...byName.values()];
}

/** The forced arm of an experiment, asked for by the experiment's name or by one of its fragments' ids. */
function forcedArm(experiment: ExperimentSpec, route: Pick<CompiledRoute, 'fragments'>, forced: ReadonlyMap<string, string>): string | undefined {
  const asked =
    forced.get(experiment.name) ??
    Object.values(route.fragments)
      .filter((f) => f.experiment?.name === experiment.name)
      .map((f) => forced.get(f.id))
      .find((arm) => arm !== undefined);
  return asked !== undefined && (asked === DEFAULT_ARM || experiment.variants.some((v) => v.name === asked)) ? asked : undefined;
}

/**
 * One page's arms, decided once before any fragment starts, so every
 * fragment of an experiment renders the same arm; and the cookie to set when
 * the visitor was given a new id.
 */
export class ExperimentArms {
  static readonly NONE = new ExperimentArms(new Map(), undefined);

  private constructor(
    private readonly byExperiment: ReadonlyMap<string, Assignment>,
    /** `Set-Cookie` for a visitor id minted on this request. */
    readonly cookie: string | undefined,
  ) {}

  /** The page's arm of an experiment; undefined for one the route does not have. */
  of(experiment: string): Assignment | undefined {
    return this.byExperiment.get(experiment);
  }

  get all(): Assignment[] {
    return [...this.byExperiment.values()];
  }

  static async assign(input: {
    route: Pick<CompiledRoute, 'fragments' | 'assignment'>;
    readings: RequestReadings;
    /** A cookie's value, decoded (VisitorRequest.cookie). */
    cookie: (name: string) => string | undefined;
    /** `?tessera-variant`: arms by experiment name or fragment id, when the switch is allowed. */
    forced: ReadonlyMap<string, string>;
    weights: WeightSource;
    keepAlive: KeepAlive;
    secure: boolean;
  }): Promise<ExperimentArms> {
    const { route, readings, forced } = input;
    const spec = route.assignment;
    const experiments = routeExperiments(route);
    if (!spec || experiments.length === 0) return ExperimentArms.NONE;
    const arms = new Map<string, Assignment>();
    const open: ExperimentSpec[] = [];
    for (const experiment of experiments) {
      const arm = forcedArm(experiment, route, forced);
      if (arm !== undefined) arms.set(experiment.name, { kind: 'forced', experiment: experiment.name, arm });
      else open.push(experiment);
    }
    if (open.length === 0) return new ExperimentArms(arms, undefined);
    const pinned = pinnedBecause(spec.defaultFor, readings);
    if (pinned) {
      for (const experiment of open) arms.set(experiment.name, { kind: 'pinned', experiment: experiment.name, arm: DEFAULT_ARM, why: pinned });
      return new ExperimentArms(arms, undefined);
    }
    const visitor = readVisitorId(spec, readings, input.cookie);
    await Promise.all(
      open.map(async (experiment) => {
        const [bucket, weights] = await Promise.all([bucketOf(experiment.name, visitor.id), input.weights.weights(experiment, input.keepAlive)]);
        arms.set(experiment.name, { kind: 'bucketed', experiment: experiment.name, arm: armOf(bucket, weights), bucket });
      }),
    );
    return new ExperimentArms(arms, visitor.kind === 'minted' ? visitorCookie(visitor.id, input.secure) : undefined);
  }
}

function pinnedBecause(defaultFor: readonly string[], readings: RequestReadings): 'bot' | 'save-data' | undefined {
  if (defaultFor.includes('save-data') && readings.header('save-data')?.trim().toLowerCase() === 'on') return 'save-data';
  if (defaultFor.includes('bots') && isbot(readings.header('user-agent') ?? null)) return 'bot';
  return undefined;
}
