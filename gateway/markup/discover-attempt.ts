import type { TryBlock } from '../contract/fragment-source';
import type { IncludeAttributes } from '../contract/types';
import { discoveryOnly, MarkupScanner } from './markup-scanner';

/**
 * Starts the includes of a held `<esi:try>`'s attempt as soon as the block is
 * read, as the scanner does for the page. Its except is left alone: it is
 * rendered, and so fetched, only if the attempt fails.
 */
export function discoverAttempt(block: TryBlock, discover: (include: IncludeAttributes) => void): void {
  if (!block.attempt.includes('<esi:')) return;
  const scanner = new MarkupScanner(discoveryOnly(discover), true);
  scanner.pieces(new TextEncoder().encode(block.attempt));
}
