import { expect, it } from 'vitest';
import { QUICK_RUN, runResilience, violations } from '../resilience/run-resilience';

/** The quick subset of `npm run resilience`: load, faults and hostile inputs against the real gateway in workerd. */
it('serves every page whole under load and faults, cancels abandoned fragments, and refuses every hostile input', async () => {
  const report = await runResilience(QUICK_RUN);
  expect(violations(report)).toEqual([]);
  expect(report.pagesServed).toBe(QUICK_RUN.pages);
  expect(report.faultsInjected).toBeGreaterThan(0);
  expect(report.hostile.sent).toBeGreaterThan(40);
}, 120_000);
