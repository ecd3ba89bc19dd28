import type { PlacedFragment } from '../contract/fragment-source';
import type { FragmentObserver } from '../observe/fragment-events';
import type { Entry } from './fragment-table';

/**
 * When a fragment in an experiment was shown: its marker was reached by the
 * assembler (a fragment fetched for a page that has no marker for it, or
 * that ended before reaching it, showed nothing), and its content is known.
 * Then one `exposure` event, saying whether the arm's own content is what
 * the page got (`exposed`), or a fallback. The observers decide what counts
 * (observe/exposure-metrics.ts counts bucketed visitors once per page).
 */
export class PageExposures {
  private readonly reached = new Set<string>();

  constructor(
    private readonly observer: FragmentObserver,
    /** When the page request began (Date.now()), which event times count from. */
    private readonly began: number,
  ) {}

  /** The assembler reached a marker of this entry (once per entry counts). */
  reach(entry: Entry): void {
    const { arm } = entry;
    if (!arm || this.reached.has(entry.key)) return;
    this.reached.add(entry.key);
    const tell = ({ result }: PlacedFragment) =>
      this.observer.event({
        type: 'exposure',
        key: entry.key,
        fragment: entry.id,
        at: Date.now() - this.began,
        assignment: arm,
        exposed: result.source === 'src',
        result,
      });
    if (entry.placed) tell(entry.placed);
    else void entry.settled.then(tell, () => {});
  }
}
