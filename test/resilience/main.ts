/**
 * `npm run resilience`: the full resilience run, with counts printed. Exits 1
 * when an invariant breaks. `--quick` runs the subset that `npm test` runs.
 */
import { FULL_RUN, QUICK_RUN, type ResilienceReport, runResilience, violations } from './run-resilience';

const report = await runResilience(process.argv.includes('--quick') ? QUICK_RUN : FULL_RUN);
print(report);
process.exitCode = violations(report).length ? 1 : 0;

function print(r: ResilienceReport) {
  const line = (label: string, value: string | number) => console.log(`${label.padEnd(34)} ${value}`);
  line('pages served intact', `${r.pagesServed} of ${r.pagesServed + r.pagesBroken}`);
  line('bytes lost', r.bytesLost);
  line('fragment faults survived', `${r.faultsSurvived} of ${r.faultsInjected} injected`);
  line('origin faults logged', `${r.originFaults.logged} broken/stalled bodies; ${r.originFaults.answered504} no-header origins → 504`);
  line('disconnects → fragments cancelled', `${r.disconnects.fragmentsCancelled} of ${r.disconnects.sent}`);
  line('hostile inputs refused', `${r.hostile.refused} of ${r.hostile.sent}`);
  line('attacker reached', r.hostile.attackerHits.length);
  line('pages after an early end, served', `${r.afterEarlyEnds.served} of ${r.afterEarlyEnds.sent}`);
  line('control bytes in headers → 400', `${r.badHeaderBytes.answered400} of ${r.badHeaderBytes.sent} (${r.badHeaderBytes.reachedOrigin} reached the origin)`);
  line('cached again after a variant flood', `${r.variantFlood.cachedAfter ? 'yes' : 'no'} (${r.variantFlood.sent} values)`);
  line('duration', `${(r.durationMs / 1000).toFixed(1)} s`);
  for (const v of violations(r)) console.log(`VIOLATION: ${v}`);
}
