import type { FragmentSpec } from '../contract/types';
import { type Assignment, specForArm } from '../request/experiment-assignment';
import type { RequestVars } from '../request/request-vars';

/**
 * A fragment in an experiment, as this page renders it: the page's arm
 * (decided once per page, request/experiment-assignment.ts) and the fragment
 * with that arm's fields. Its cache plan (fragment-plans.ts) then keys and
 * versions it per arm: purging `recs:new` leaves `recs:default` alone, while
 * purging `recs` reaches every arm.
 */
export interface ArmedSpec {
  spec: FragmentSpec;
  /** Absent for a fragment in no experiment. */
  arm?: Assignment;
}

export function armedSpec(vars: RequestVars, declared: FragmentSpec): ArmedSpec {
  const experiment = declared.experiment;
  const arm = experiment && vars.arm(experiment.name);
  return arm ? { spec: specForArm(declared, arm.arm), arm } : { spec: declared };
}
