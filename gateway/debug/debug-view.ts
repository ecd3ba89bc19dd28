import type { CompiledRoute } from '../contract/types';
import type { FragmentSpan } from '../observe/fragment-events';
import { allowDebugScript } from './debug-csp';
import { debugData, embedJson } from './debug-data';
import { OVERLAY_SCRIPT } from './overlay-script';

/**
 * The debug view of one page: its headers (never cached; the page's CSP lets
 * our one script run) and, at the end of the body, the data and the overlay.
 */
export class DebugView {
  private readonly nonce = crypto.randomUUID().replaceAll('-', '');

  /** Response headers for a debug page. */
  adjust(headers: Headers): void {
    headers.set('cache-control', 'private, no-store');
    headers.delete('etag');
    headers.delete('last-modified');
    const csp = allowDebugScript(headers.get('content-security-policy'), this.nonce);
    if (csp !== null) headers.set('content-security-policy', csp);
  }

  /** What goes at the end of the body, once every fragment has settled. */
  markup(input: { url: URL; traceId: string; originMs: number; totalMs: number; route: CompiledRoute; headers: Headers; spans: FragmentSpan[] }): string {
    const data = embedJson(debugData(input));
    return `<script type="application/json" id="tessera-debug-data">${data}</script><script nonce="${this.nonce}">${OVERLAY_SCRIPT}</script>`;
  }
}
