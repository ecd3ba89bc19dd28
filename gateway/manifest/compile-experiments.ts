import {
  type ArmFields,
  type AssignmentSpec,
  type CompiledRoute,
  DEFAULT_ARM,
  type ExperimentSpec,
  type FragmentSpec,
  type SrcTemplate,
  type VariantSpec,
} from '../contract/types';
import type { AssignmentManifest, FragmentManifest, VariantManifest } from './schema';

/**
 * Experiments at build time: a fragment's `variants:` compiled into arms
 * (each one the fragment with the variant's fields), the checks an experiment
 * needs beyond its schema (weights that add up, a name, arms that agree
 * wherever the experiment appears) and the route's `assignment:` block.
 */

type Path = (string | number)[];

interface Problem {
  path: Path;
  message: string;
  offset?: number;
}

/** Compiles a fragment's fields as written, reporting into the sink: `compile.ts`'s own fragment compiler. */
export type FragmentCompiler = (fields: FragmentManifest, problems: Problem[]) => FragmentSpec | undefined;

/** The manifest fields a variant may set, and the compiled fields each one decides. */
const ARM_FIELDS: Record<Exclude<keyof VariantManifest, 'weight'>, ReadonlyArray<keyof ArmFields>> = {
  src: ['src'],
  fallback: ['fallback'],
  ttl: ['ttlMs'],
  timeout: ['timeoutMs'],
  staleWhileRevalidate: ['staleWhileRevalidateMs'],
  staleIfError: ['staleIfErrorMs'],
  placement: ['placement'],
  placeholder: ['placeholder'],
};

/** Weights are kept in hundredths of a percent, the buckets' resolution (`request/experiment-assignment.ts`). */
const hundredths = (weight: number) => Math.round(weight * 100);

/**
 * The fragment with its experiment, when the manifest gives it one. Each
 * variant is compiled as the fragment with the variant's fields on top, by the
 * same compiler and rules (templates, the credential rule with the arm's ttl,
 * placeholders), and its problems are reported at the variant's own fields;
 * problems of the fields it inherits were reported on the fragment already.
 */
export function withExperiment(fragment: FragmentSpec, spec: FragmentManifest, compile: FragmentCompiler, problems: Problem[]): FragmentSpec {
  const at = (...path: Path) => ['fragments', fragment.id, ...path];
  const { experiment, variants } = spec;
  if (experiment === undefined && variants === undefined) return fragment;
  if (experiment === undefined) {
    problems.push({
      path: at('variants'),
      message: 'expected experiment: as well, such as experiment: recs-2026-12 (its name in metrics, in the weights\u2019 KV key and in the bucket hash)',
    });
    return fragment;
  }
  const entries = Object.entries(variants ?? {});
  if (entries.length === 0) {
    problems.push({
      path: at(variants ? 'variants' : 'experiment'),
      message: 'expected variants: with at least one arm, such as new: { src: /fragments/recs/v2, weight: 10 }',
    });
    return fragment;
  }
  const { experiment: _experiment, variants: _variants, ...base } = spec;
  const compiled: VariantSpec[] = [];
  for (const [name, variant] of entries) {
    if (name === DEFAULT_ARM) {
      problems.push({ path: at('variants', name), message: `expected an arm name other than ${DEFAULT_ARM}: the default arm is the fragment as declared` });
      continue;
    }
    const { weight, ...fields } = variant;
    const own: Problem[] = [];
    const armed = compile({ ...base, ...fields }, own);
    const changed = Object.keys(fields) as Array<keyof typeof ARM_FIELDS>;
    for (const problem of own) {
      const field = problem.path[2];
      if (typeof field === 'string' && (changed as string[]).includes(field))
        problems.push({ ...problem, path: at('variants', name, ...problem.path.slice(2)) });
    }
    if (!armed) continue;
    // Fields the variant leaves alone are the fragment's own objects, so later checks can tell what it changed.
    const armFields: ArmFields = {
      src: fragment.src,
      fallback: fragment.fallback,
      ttlMs: fragment.ttlMs,
      timeoutMs: fragment.timeoutMs,
      staleWhileRevalidateMs: fragment.staleWhileRevalidateMs,
      staleIfErrorMs: fragment.staleIfErrorMs,
      placement: fragment.placement,
      placeholder: fragment.placeholder,
    };
    for (const key of changed) for (const field of ARM_FIELDS[key]) Object.assign(armFields, { [field]: armed[field] });
    compiled.push({ name, weight: hundredths(weight) / 100, fields: armFields });
  }
  const total = compiled.reduce((sum, variant) => sum + hundredths(variant.weight), 0);
  if (total > 100 * 100) {
    problems.push({
      path: at('variants'),
      message: `expected weights that add up to at most 100 (the default arm gets the rest), got ${total / 100} (${compiled.map((v) => `${v.name} ${v.weight}`).join(', ')})`,
    });
  }
  return { ...fragment, experiment: { name: experiment, variants: compiled } };
}

/**
 * Fragments of one route that share an experiment must share its arms, names
 * and weights alike: they are assigned together, so a page never mixes arms.
 */
export function experimentProblems(fragments: Record<string, FragmentSpec>): Problem[] {
  const problems: Problem[] = [];
  const first = new Map<string, FragmentSpec>();
  for (const fragment of Object.values(fragments)) {
    const { experiment } = fragment;
    if (!experiment) continue;
    const other = first.get(experiment.name);
    if (!other) first.set(experiment.name, fragment);
    else if (other.experiment && armsOf(other.experiment) !== armsOf(experiment)) {
      problems.push({
        path: ['fragments', fragment.id, 'variants'],
        message: `expected the arms of fragment "${other.id}" (${armsOf(other.experiment)}), which is in experiment "${experiment.name}" too: fragments of one experiment are assigned together, so their arms and weights must match`,
      });
    }
  }
  return problems;
}

/** The arms and weights of an experiment, as one comparable line: `new 10, alt 5`. */
export function armsOf(experiment: ExperimentSpec): string {
  return experiment.variants.map((v) => `${v.name} ${v.weight}`).join(', ');
}

/**
 * The route's `assignment:`, with its defaults: present exactly when one of
 * its fragments is in an experiment (a block without one is a mistake).
 */
export function compileAssignment(
  written: AssignmentManifest | undefined,
  fragments: Record<string, FragmentSpec>,
  problems: Problem[],
): AssignmentSpec | undefined {
  const experiments = Object.values(fragments).some((fragment) => fragment.experiment);
  if (!experiments) {
    if (written)
      problems.push({ path: ['assignment'], message: 'expected a fragment with variants: on this route: assignment: only says how visitors get their arms' });
    return undefined;
  }
  const source = written?.visitorId;
  const dot = source?.indexOf('.') ?? -1;
  const kind = source?.slice(0, dot) as 'cookie' | 'header' | undefined;
  const name = source?.slice(dot + 1);
  return {
    visitorId: kind && name ? { source: kind, name: kind === 'header' ? name.toLowerCase() : name } : undefined,
    defaultFor: written?.defaultFor ?? ['bots'],
  };
}

/**
 * Every src template a fragment may fetch, with the manifest field it was
 * written in: its src, its fallback src, and each variant's that differs
 * from the fragment's.
 */
export function writtenSources(fragment: FragmentSpec): Array<{ path: Path; template: SrcTemplate }> {
  const sources: Array<{ path: Path; template: SrcTemplate }> = [];
  const add = (path: Path, template: SrcTemplate | undefined) => {
    if (template) sources.push({ path: ['fragments', fragment.id, ...path], template });
  };
  add(['src'], fragment.src);
  add(['fallback'], fragment.fallback.src);
  for (const variant of fragment.experiment?.variants ?? []) {
    if (variant.fields.src !== fragment.src) add(['variants', variant.name, 'src'], variant.fields.src);
    if (variant.fields.fallback !== fragment.fallback) add(['variants', variant.name, 'fallback'], variant.fields.fallback.src);
  }
  return sources;
}

/**
 * An experiment that appears on several routes must have the same arms on
 * each: a visitor's arm must not depend on the page. One line per route that
 * disagrees with the first that named the experiment.
 */
export function crossRouteExperimentProblems(routes: readonly CompiledRoute[]): Array<{ route: CompiledRoute; problem: Problem }> {
  const first = new Map<string, { route: CompiledRoute; experiment: ExperimentSpec }>();
  const found: Array<{ route: CompiledRoute; problem: Problem }> = [];
  for (const route of routes) {
    for (const fragment of Object.values(route.fragments)) {
      const { experiment } = fragment;
      if (!experiment) continue;
      const seen = first.get(experiment.name);
      if (!seen) first.set(experiment.name, { route, experiment });
      else if (seen.route !== route && armsOf(seen.experiment) !== armsOf(experiment)) {
        found.push({
          route,
          problem: {
            path: ['fragments', fragment.id, 'variants'],
            message: `expected the arms experiment "${experiment.name}" has in ${seen.route.file} (${armsOf(seen.experiment)}): a visitor's arm must not depend on the page`,
          },
        });
      }
    }
  }
  return found;
}
