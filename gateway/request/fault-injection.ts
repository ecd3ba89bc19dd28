import { switchParts } from './switch-list';

/**
 * Forced fragment outcomes, to preview fallbacks in the page:
 * `?tessera-fault=recs:timeout,reviews:error,header:stale`, or the same in a
 * `tessera-fault` cookie. A fragment is named by its id (declared) or its src
 * (an undeclared include). `timeout`, `error` and `refused` fail its primary
 * src that way, so its fallback chain runs; `stale` serves its cached copy as
 * if a refresh had failed (or fails like `error` when there is none).
 * Always on under `tessera dev`; deployed, only together with the debug
 * token (gateway-switches.ts decides). Like the debug switch, it never
 * reaches the origin.
 */
export const FAULT_PARAM = 'tessera-fault';
export const FAULTS = ['timeout', 'error', 'refused', 'stale'] as const;
export type Fault = (typeof FAULTS)[number];

/** `recs:timeout,reviews:error` → fragment → fault; unknown faults and unnamed fragments are left out. */
export function parseFaults(spec: string): Map<string, Fault> {
  const faults = new Map<string, Fault>();
  for (const { name, value } of switchParts(spec)) if (name && isFault(value)) faults.set(name, value);
  return faults;
}

function isFault(value: string): value is Fault {
  return (FAULTS as readonly string[]).includes(value);
}

/**
 * What in a fault list does nothing on this route, each as a line for the dev
 * log and the debug panel: a part that is not `fragment:fault`, a fault that
 * does not exist, a fragment id the route does not declare. A name with a `/`
 * is an include's src, which only the page can tell (it is left alone here).
 * Empty when every part applies.
 */
export function faultNotes(spec: string, declared: readonly string[]): string[] {
  const notes: string[] = [];
  const known = `${FAULTS.slice(0, -1).join(', ')} or ${FAULTS.at(-1)}`;
  for (const { part, name: fragment, value: fault } of switchParts(spec)) {
    const say = (what: string) => notes.push(`${FAULT_PARAM} "${part}": ${what}`);
    if (!fragment) say(`expected fragment:fault, the fault one of ${known}`);
    else if (!isFault(fault)) say(`no fault "${fault}"${hint(fault, FAULTS, ` (${known})`)}`);
    else if (!fragment.includes('/') && !declared.includes(fragment)) {
      say(`no fragment "${fragment}" on this route${hint(fragment, declared, declared.length ? ` (it has ${declared.join(', ')})` : ' (it declares none)')}`);
    }
  }
  return notes;
}

/** ` (did you mean "x"?)` for the closest name within two edits, else `otherwise`. */
function hint(name: string, known: readonly string[], otherwise: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? otherwise : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}
