import type { DevOverrides } from '../fetch/dev-overrides';
import type { HeaderLatency } from '../fetch/header-latency';
import type { SessionCache } from '../fragments/fragment-session';
import type { FragmentObserver } from '../observe/fragment-events';
import type { PageCache } from '../page-cache/page-cache';
import type { PageLayer } from '../page-cache/page-layers';
import type { DebugSettings } from '../request/debug-gate';
import type { WeightSource } from '../request/experiment-weights';
import type { RouteAssets } from './route-assets';

/**
 * What every page of one isolate shares: built once by `gateway.ts` (from the
 * options and, at the first request, the bindings), then handed to each page
 * beside its `VisitorRequest`.
 */
export interface GatewayServices {
  /** Outbound fetch (tests inject one that stands up origins inside workerd). */
  readonly fetch: typeof fetch;
  /** The fragment cache with the versions its keys include, the last-good layer and the coalescer namespace; undefined: no cache. */
  readonly cache: SessionCache | undefined;
  /** The page cache, for routes with `page:`; undefined: the cache is off. */
  readonly pages: PageCache | undefined;
  /** L3 for pages with `page.lastGood`, when TESSERA_LAST_GOOD is bound. */
  readonly lastGoodPages: PageLayer | undefined;
  /** The isolate's memory of fragment latencies, which orders each page's queue. */
  readonly latency: HeaderLatency;
  /** Workers Analytics Engine: one data point per fragment, when bound. */
  readonly metrics: AnalyticsEngineDataset | undefined;
  /** Told every fragment event too (an embedder's own metrics). */
  readonly observer: FragmentObserver | undefined;
  /** Log every page's fragment waterfall once it has streamed (`TESSERA_LOG=timing`; tessera dev sets it). */
  readonly logTimings: boolean;
  /** Sent to the origin as X-Forwarded-Host. */
  readonly publicHost: string | undefined;
  /** `tessera dev --override` (only ever set under tessera dev). */
  readonly overrides: DevOverrides | undefined;
  /** User id → segment name, for routes with `segment:`. */
  readonly segments: KVNamespace | undefined;
  /** Who may use the gateway's switches (tessera dev, or the debug token). */
  readonly switches: DebugSettings;
  /** Experiments: their current weights (the manifest's, or TESSERA_EXPERIMENTS overrides) and the exposures dataset, when bound. */
  readonly experiments: { weights: WeightSource; exposures: AnalyticsEngineDataset | undefined };
  /** Each route's fragment assets, remembered for its pages' `Link` header (in KV too when TESSERA_LAST_GOOD is bound). */
  readonly routeAssets: RouteAssets;
}
