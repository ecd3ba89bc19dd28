import type { FragmentEvent, FragmentObserver } from './fragment-events';

/**
 * One Workers Analytics Engine data point per fragment per page, when the
 * TESSERA_METRICS binding is set: blobs route, fragment, outcome, where the
 * content came from, cache state; double duration in ms; indexed by route.
 * (The README has the query for the p95 per fragment.)
 */
export function fragmentMetrics(dataset: AnalyticsEngineDataset, route: string): FragmentObserver {
  return {
    event(event: FragmentEvent) {
      if (event.type !== 'end') return;
      const { result } = event;
      const cache = result.source === 'src' && result.outcome !== 'miss' ? result.outcome : result.source === 'src' ? 'miss' : 'none';
      dataset.writeDataPoint({ indexes: [route], blobs: [route, event.fragment, result.outcome, result.source, cache], doubles: [result.durationMs] });
    },
  };
}
