import type { CompiledRoute, PlacementMode } from '../contract/types';
import { type DebugSettings, presentedDebugToken, switchesAllowed } from './debug-gate';
import { FAULT_PARAM, type Fault, faultNotes, parseFaults } from './fault-injection';
import { askedPlacement } from './placement-preview';
import type { RequestReadings } from './request-readings';
import { switchList } from './switch-list';
import { parseVariants, VARIANT_PARAM, variantNotes } from './variant-preview';

/**
 * The gateway's own switches for one page request, decided once: what was
 * asked for, and whether it is allowed (one token comparison at most). A
 * switch that is not allowed is simply off.
 */
export interface GatewaySwitches {
  /** The debug view: the page with its overlay, never cached. */
  readonly debugView: boolean;
  /** Outcomes forced by `tessera-fault`, by fragment id or src; empty for none. */
  readonly faults: ReadonlyMap<string, Fault>;
  /** The fault list as asked for (when allowed), for `checkFaults`. */
  readonly faultSpec?: string;
  /** `tessera-placement`: every fragment placed this way, whatever the manifest says. */
  readonly placement: PlacementMode | undefined;
  /** `tessera-variant`: arms forced, by experiment name or fragment id; empty for none. */
  readonly variants: ReadonlyMap<string, string>;
  /** The variant list as asked for (when allowed), for `checkVariants`. */
  readonly variantSpec?: string;
}

export const NO_SWITCHES: GatewaySwitches = { debugView: false, faults: new Map(), placement: undefined, variants: new Map() };

/** A page with forced failures, placements or arms is a preview, never the page: it is not cached. */
export function isPreview(switches: GatewaySwitches): boolean {
  return switches.faults.size > 0 || switches.placement !== undefined || switches.variants.size > 0;
}

export async function decideSwitches(url: URL, readings: RequestReadings, settings: DebugSettings): Promise<GatewaySwitches> {
  const presented = presentedDebugToken(url, (name) => readings.header(name));
  const spec = switchList(url, FAULT_PARAM, readings);
  const placement = askedPlacement(url);
  const variants = switchList(url, VARIANT_PARAM, readings);
  if (presented === null && !spec && placement === undefined && !variants) return NO_SWITCHES;
  if (!(await switchesAllowed(presented, settings))) return NO_SWITCHES;
  return {
    debugView: presented !== null,
    faults: spec ? parseFaults(spec) : new Map(),
    faultSpec: spec ?? undefined,
    placement,
    variants: variants ? parseVariants(variants) : new Map(),
    variantSpec: variants ?? undefined,
  };
}

/**
 * What in the fault list does nothing on this page's route (a fragment id it
 * does not declare, a fault that does not exist): told in the dev log, one
 * line for the request, and returned for the debug panel. A typo would
 * otherwise preview nothing and say nothing.
 */
export function checkFaults(switches: GatewaySwitches, route: Pick<CompiledRoute, 'fragments'>, path: string): string[] {
  if (!switches.faultSpec) return [];
  const notes = faultNotes(switches.faultSpec, Object.keys(route.fragments));
  if (notes.length > 0) console.error(`tessera: ${path}: ${notes.join('; ')}`);
  return notes;
}

/** The same for the variant list: an experiment, fragment or arm that is not on this route. */
export function checkVariants(switches: GatewaySwitches, route: Pick<CompiledRoute, 'fragments'>, path: string): string[] {
  if (!switches.variantSpec) return [];
  const notes = variantNotes(switches.variantSpec, route);
  if (notes.length > 0) console.error(`tessera: ${path}: ${notes.join('; ')}`);
  return notes;
}
