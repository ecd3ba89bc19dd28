import type { IncludeAttributes } from '../contract/types';
import type { FragmentTable } from './fragment-table';

/**
 * The fragments as the look-ahead scan sees them: markers the pump passed
 * before the assembling rewriter reached them. An include starts its fetch
 * here, so that it is already in flight when the rewriter gets to it.
 */
export class FragmentDiscovery {
  constructor(
    private readonly table: FragmentTable,
    /** An include inside a script or style: its content, which the pump inserts as it is. */
    readonly inline: (include: IncludeAttributes) => Promise<Uint8Array>,
  ) {}

  /** The scanner passed an include: its fetch starts (on the next turn). Whether the rewriter will have to wait for it there. */
  include(include: IncludeAttributes, depth = 0): boolean {
    const entry = this.table.deferring(() => this.table.included(include, depth));
    return entry !== undefined && !this.table.seen(entry).placed;
  }

  /** The scanner passed `<… data-slot="id">`; whether the rewriter will have to wait for it there. */
  slot(id: string): boolean {
    const entry = this.table.byId(id);
    return entry !== undefined && !this.table.seen(entry).placed;
  }

  /** Whether any fragment of the page is still in flight. */
  waiting(): boolean {
    return this.table.waiting;
  }
}
