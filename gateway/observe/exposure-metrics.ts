import type { FragmentEvent, FragmentObserver } from './fragment-events';

/**
 * Experiment exposures in Workers Analytics Engine (the `TESSERA_EXPOSURES`
 * dataset), one observer per page. A page writes at most one `exposure` data
 * point per experiment: when a fragment of it was placed and showed its arm's
 * own content. A fragment of the experiment that showed a fallback instead
 * writes one `fallback` data point (per experiment and page too), which is no
 * exposure. Only bucketed visitors count: a forced arm is a preview, and a
 * pinned visitor (crawler, Save-Data) is outside the experiment.
 *
 * blob1 experiment, blob2 arm, blob3 outcome (exposure | fallback), blob4
 * route, blob5 fragment, blob6 the fragment's outcome (miss, hit, timeout,
 * error, …); double1 1; indexed by experiment.
 */
export function exposureMetrics(dataset: AnalyticsEngineDataset, route: string): FragmentObserver {
  const written = new Set<string>();
  return {
    event(event: FragmentEvent) {
      if (event.type !== 'exposure' || event.assignment.kind !== 'bucketed') return;
      const { experiment, arm } = event.assignment;
      const outcome = event.exposed ? 'exposure' : 'fallback';
      const once = `${experiment}\n${outcome}`;
      if (written.has(once)) return;
      written.add(once);
      dataset.writeDataPoint({ indexes: [experiment], blobs: [experiment, arm, outcome, route, event.fragment, event.result.outcome], doubles: [1] });
    },
  };
}
