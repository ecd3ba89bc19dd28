import type { FragmentResult, IncludeAttributes } from './types';

/**
 * Where fragments and the assembler meet. The fragments stage settles each
 * marker's fragment; the assemble stage writes the page. Neither imports the
 * other: the fragments stage implements `FragmentSource`, and the page stage
 * hands it to the assembler.
 */

/** A fragment that has settled, before the markers inside it are filled. */
export interface SettledFragment {
  result: FragmentResult;
  /** The fragment host opted in to ESI with its own Surrogate-Control. */
  surrogateEsi: boolean;
}

/** A settled fragment as the assembler places it; `key` identifies it for cycle checks. */
export interface PlacedFragment extends SettledFragment {
  key: string;
}

/** A `<esi:try>` the ESI pass held whole: its branches, ESI already applied. */
export interface TryBlock {
  attempt: string;
  except: string;
}

/**
 * A marker's fragment: settled already (rendered without suspending the
 * rewriter, which costs CPU on every marker), or still in flight, in which
 * case an out-of-order fragment may get a placeholder instead of a wait.
 */
export type Placement = { ready: true; fragment: PlacedFragment } | { ready: false; fragment: Promise<PlacedFragment>; outOfOrder?: OutOfOrderSpec };

/** What an out-of-order fragment's placeholder may show until it arrives. */
export interface OutOfOrderSpec {
  /** The declared `placeholder:` markup. */
  placeholder?: string;
  /** The fallback html, which an include's placeholder shows when no placeholder is declared. */
  fallbackHtml?: string;
}

/** What the assembler needs from a fragment session. */
export interface FragmentSource {
  readonly maxDepth: number;
  slot(id: string, depth: number): Placement | undefined;
  include(include: IncludeAttributes, depth: number): Placement | undefined;
  /** Whether `<esi:include>` inside this fragment is processed. */
  esiInside(fragment: PlacedFragment): boolean;
  /** A fragment's markup with the ESI language applied, before its markers are filled: made once per fragment. */
  esiMarkup(fragment: SettledFragment): string;
  /** A `<esi:try>` block the stream pass held, by its placeholder's index. */
  tryBlock(index: number): TryBlock | undefined;
  /** An include failed with no `onerror="continue"`, outside any `<esi:try>` (the route decides what that means). */
  includeFailed(include: IncludeAttributes, fragment: PlacedFragment): void;
  /** An include inside a script or style: its content, as bytes to insert as they are. */
  inline(include: IncludeAttributes): Promise<Uint8Array>;
}
