import { type CompiledRoute, DEFAULT_ARM } from '../contract/types';
import { routeExperiments } from './experiment-assignment';
import { switchParts } from './switch-list';

/**
 * `?tessera-variant=recs:new` (or the same in a `tessera-variant` cookie):
 * the page with that arm of the experiment, named by the experiment or by
 * one of its fragments; `recs:default` shows the fragment as declared; parts
 * are separated by commas. Every fragment of the experiment gets the arm, so
 * the preview is a page a visitor could get. Always on under `tessera dev`;
 * deployed, only together with the debug token (gateway-switches.ts
 * decides). Like the other switches it never reaches the origin; such a page
 * is a preview, never cached, and counts as no exposure.
 */
export const VARIANT_PARAM = 'tessera-variant';

/** `recs:new,chrome:default` → experiment or fragment → arm; parts that are not `name:arm` are left out. */
export function parseVariants(spec: string): Map<string, string> {
  const arms = new Map<string, string>();
  for (const { name, value } of switchParts(spec)) if (name && value) arms.set(name, value);
  return arms;
}

/**
 * What in a variant list does nothing on this route, each as a line for the
 * dev log and the debug panel: a part that is not `name:arm`, a name that is
 * neither an experiment of the route nor one of its fragments in one, an arm
 * the experiment does not have.
 */
export function variantNotes(spec: string, route: Pick<CompiledRoute, 'fragments'>): string[] {
  const notes: string[] = [];
  const experiments = routeExperiments(route);
  const known = [
    ...experiments.map((e) => e.name),
    ...Object.values(route.fragments)
      .filter((f) => f.experiment)
      .map((f) => f.id),
  ];
  for (const { part, name, value: arm } of switchParts(spec)) {
    const say = (what: string) => notes.push(`${VARIANT_PARAM} "${part}": ${what}`);
    if (!name || !arm) {
      say('expected experiment:arm or fragment:arm');
      continue;
    }
    const experiment = experiments.find((e) => e.name === name) ?? route.fragments[name]?.experiment;
    if (!experiment) {
      say(`no experiment or fragment in one named "${name}" on this route (${known.length ? `it has ${known.join(', ')}` : 'it has no experiments'})`);
      continue;
    }
    const arms = [DEFAULT_ARM, ...experiment.variants.map((v) => v.name)];
    if (!arms.includes(arm)) say(`experiment "${experiment.name}" has no arm "${arm}" (it has ${arms.join(', ')})`);
  }
  return notes;
}
