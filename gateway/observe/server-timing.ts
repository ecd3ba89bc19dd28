import type { FragmentResult } from '../contract/types';
import { loggedUrl } from '../request/switches';
import type { FragmentSpan } from './fragment-events';

/**
 * `Server-Timing` for the origin and each fragment, from the page's timeline.
 * Headers leave before the body, so a fragment still in flight when they are
 * sent is listed as `desc="pending"`; the required ones are always settled by
 * then.
 */
export function serverTiming(originMs: number, fragments: FragmentSpan[], originState?: string, conditional?: 'not-modified'): string {
  const entries = [originState ? `origin;dur=${originMs};desc="${originState}"` : `origin;dur=${originMs}`];
  // A 304 answered from the page's parts, which the fragment entries below list.
  if (conditional) entries.push(`conditional;desc="${conditional}"`);
  const used = new Set<string>();
  for (const { fragment: id, result, arm } of fragments) {
    let name = `fragment.${token(id)}`;
    for (let n = 2; used.has(name); n++) name = `fragment.${token(id)}.${n}`;
    used.add(name);
    if (!result) {
      entries.push(`${name};desc="pending"${armParams(arm)}`);
      continue;
    }
    entries.push(`${name};dur=${result.durationMs};desc="${timingDesc(result)}"${cause(result)}${armParams(arm)}`);
  }
  return entries.join(', ');
}

/** What the client got: the src's content (hit|miss|stale|revalidated), a fallback, or nothing. */
export function timingDesc(result: FragmentResult): string {
  if (result.source === 'src') return result.outcome;
  if (result.source === 'empty') return result.outcome;
  return 'fallback';
}

/** Why a fallback, or a stale copy served on a failed refresh (stale-if-error), was used. */
function cause(result: FragmentResult): string {
  if (result.staleBecause) return `;cause="${result.staleBecause}"`;
  return result.source !== 'src' && result.source !== 'empty' ? `;cause="${result.outcome}"` : '';
}

/** A fragment in an experiment: `;exp="recs-2026-12";arm="new"` (names are tokens, checked by the manifest schema). */
function armParams(arm: FragmentSpan['arm']): string {
  return arm ? `;exp="${arm.assignment.experiment}";arm="${arm.assignment.arm}"` : '';
}

/** The arm for the dev log: `[recs-2026-12: new]`, with how it was given when it was not bucketed. */
function armNote(arm: FragmentSpan['arm']): string {
  if (!arm) return '';
  const { assignment } = arm;
  const how = assignment.kind === 'forced' ? ', forced' : assignment.kind === 'pinned' ? `, pinned: ${assignment.why}` : '';
  return ` [${assignment.experiment}: ${assignment.arm}${how}]`;
}

function token(id: string): string {
  return (
    id
      .replace(/^[a-z]+:\/\/[^/]+/i, '')
      .replace(/[^A-Za-z0-9!#$%&'*+.^_`|~-]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'root'
  );
}

/** One line per page for the dev console: the whole waterfall, which headers cannot carry. */
export function timingReport(url: URL, originMs: number, totalMs: number, fragments: FragmentSpan[], traceId?: string, originNote?: string): string {
  const parts = fragments.map(({ fragment: id, result, queuedMs, arm }) => {
    if (!result) return `${id} pending${armNote(arm)}`;
    const queued = queuedMs > 0 ? ` (queued ${queuedMs}ms)` : '';
    const desc = timingDesc(result);
    // The dev log says why a fragment was not delivered (a refused type, a status), which Server-Timing cannot carry.
    const detail = result.detail && result.source !== 'src' && result.source !== 'fallback-src' ? `: ${result.detail}` : '';
    const why =
      desc === 'fallback'
        ? ` (${result.outcome}, ${result.source}${detail})`
        : result.staleBecause
          ? ` (${result.staleBecause})`
          : detail
            ? ` (${detail.slice(2)})`
            : '';
    return `${id} ${result.durationMs}ms ${desc}${why}${queued}${result.notStored ? ` (not cached: ${result.notStored})` : ''}${armNote(arm)}`;
  });
  return `tessera: ${loggedUrl(url)} ${totalMs}ms | origin ${originMs}ms${originNote ? ` ${originNote}` : ''} | ${parts.join(' | ')}${traceId ? ` | trace ${traceId}` : ''}`;
}
