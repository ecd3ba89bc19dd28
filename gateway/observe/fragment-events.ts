import type { FragmentResult } from '../contract/types';
import type { Assignment } from '../request/experiment-assignment';

/**
 * A fragment's life within one page, as events: the one stream that the dev
 * log, Server-Timing, the metrics and the debug view all read. Times are
 * milliseconds since the page request began.
 *
 *   start → [queued] → sent → response → … → hit | miss | stale | revalidated
 *                                          | fallback | timeout | error → end
 *
 * `queued` comes only when the fetch waited for a connection slot; `sent` and
 * `response` come once per request actually made (none for a cache hit, two
 * for a fallback src); exactly one outcome event comes just before `end`.
 *
 * A fragment in an experiment has `assigned` right after `start` (the page's
 * arm, known before anything is fetched), and `exposure` once its marker was
 * reached and its content is known, which is at `end` or after it: `exposed`
 * when the arm's own content is what the page shows, not a fallback.
 */
export type FragmentEvent =
  | { type: 'start'; key: string; fragment: string; at: number }
  | { type: 'queued'; key: string; fragment: string; at: number; waitedMs: number }
  | { type: 'sent'; key: string; fragment: string; at: number; url: string }
  | { type: 'response'; key: string; fragment: string; at: number; url: string; status: number }
  | { type: 'hit' | 'miss' | 'stale' | 'revalidated'; key: string; fragment: string; at: number }
  | { type: 'fallback'; key: string; fragment: string; at: number; source: FragmentResult['source']; cause: string }
  | { type: 'timeout' | 'error'; key: string; fragment: string; at: number; detail: string }
  | { type: 'end'; key: string; fragment: string; at: number; result: FragmentResult }
  | { type: 'assigned'; key: string; fragment: string; at: number; assignment: Assignment }
  | { type: 'exposure'; key: string; fragment: string; at: number; assignment: Assignment; exposed: boolean; result: FragmentResult };

export interface FragmentObserver {
  event(event: FragmentEvent): void;
}

/** The outcome event a settled fragment ends with. */
export function outcomeEvent(key: string, at: number, result: FragmentResult): FragmentEvent {
  const fragment = result.id;
  if (result.source === 'src') {
    return { type: result.outcome as 'hit' | 'miss' | 'stale' | 'revalidated', key, fragment, at };
  }
  if (result.source === 'empty') {
    return { type: result.outcome === 'timeout' ? 'timeout' : 'error', key, fragment, at, detail: result.detail ?? result.outcome };
  }
  return { type: 'fallback', key, fragment, at, source: result.source, cause: result.outcome };
}

/** Every event of a page, kept for whoever reads the whole story at the end (the dev log, the debug view). */
export class PageTimeline implements FragmentObserver {
  readonly events: FragmentEvent[] = [];

  event(event: FragmentEvent): void {
    this.events.push(event);
  }

  /** Per fragment, in the order they started: when it started, waited, was sent, answered and ended. */
  fragments(): FragmentSpan[] {
    const spans = new Map<string, FragmentSpan>();
    for (const event of this.events) {
      if (event.type === 'start') spans.set(event.key, { key: event.key, fragment: event.fragment, startAt: event.at, queuedMs: 0 });
      const span = spans.get(event.key);
      if (!span) continue;
      if (event.type === 'queued') span.queuedMs += event.waitedMs;
      if (event.type === 'sent') span.sentAt ??= event.at;
      if (event.type === 'response') span.responseAt ??= event.at;
      if (event.type === 'end') {
        span.endAt = event.at;
        span.result = event.result;
      }
      if (event.type === 'assigned') span.arm = { assignment: event.assignment };
      if (event.type === 'exposure' && span.arm) span.arm.exposed = event.exposed;
    }
    return [...spans.values()];
  }
}

export interface FragmentSpan {
  key: string;
  fragment: string;
  startAt: number;
  queuedMs: number;
  sentAt?: number;
  responseAt?: number;
  endAt?: number;
  result?: FragmentResult;
  /** A fragment in an experiment: the page's arm, and once its marker was reached, whether the arm's content showed. */
  arm?: { assignment: Assignment; exposed?: boolean };
}

/** Sends each event to every observer; one failing observer never breaks the page. */
export function fanOut(observers: FragmentObserver[]): FragmentObserver {
  return {
    event(event) {
      for (const observer of observers) {
        try {
          observer.event(event);
        } catch (error) {
          console.error('tessera: a fragment observer failed:', error);
        }
      }
    },
  };
}
