import type { CompiledRoute, PlacementMode } from '../contract/types';
import type { PageTimeline } from '../observe/fragment-events';
import { checkFaults, checkVariants, type GatewaySwitches } from '../request/gateway-switches';
import { allowDebugScript } from './debug-csp';
import { type DebugPage, debugData, embedJson } from './debug-data';
import { OVERLAY_SCRIPT } from './overlay-script';

/**
 * The debug view of one page: its headers (never cached; the page's CSP lets
 * our one script run) and, at the end of the body, the data and the overlay.
 */
export class DebugView {
  private readonly nonce = crypto.randomUUID().replaceAll('-', '');

  private constructor(
    /** What the gateway has to tell about the request (a fault switch that names nothing). */
    private readonly notes: string[],
    /** The page's fragment events, read at the end for what the spans leave out (URLs, statuses). */
    private readonly timeline: PageTimeline,
    /** `tessera-placement`, which overrides every fragment's. */
    private readonly placement: PlacementMode | undefined,
  ) {}

  /**
   * The page's debug view, when the request asks for it (and may). Either
   * way, a fault switch that would do nothing on this route is told in the
   * dev log (and, with the view, in its panel).
   */
  static forPage(switches: GatewaySwitches, route: CompiledRoute, path: string, timeline: PageTimeline): DebugView | undefined {
    const notes = [...checkFaults(switches, route, path), ...checkVariants(switches, route, path)];
    return switches.debugView ? new DebugView(notes, timeline, switches.placement) : undefined;
  }

  /** Response headers for a debug page. */
  adjust(headers: Headers): void {
    headers.set('cache-control', 'private, no-store');
    headers.delete('etag');
    headers.delete('last-modified');
    const csp = allowDebugScript(headers.get('content-security-policy'), this.nonce);
    if (csp !== null) headers.set('content-security-policy', csp);
  }

  /** What goes at the end of the body, once every fragment has settled. */
  markup(input: DebugPage): string {
    const data = embedJson(debugData({ ...input, notes: this.notes, events: this.timeline.events, placement: this.placement }));
    return `<script type="application/json" id="tessera-debug-data">${data}</script><script nonce="${this.nonce}">${OVERLAY_SCRIPT}</script>`;
  }
}
