import type { IncludeAttributes } from '../types';
import { patchScriptTag } from './patch-script';

/**
 * One page's out-of-order fragments, between the three parties that place
 * them:
 *
 * - the markup scanner, ahead in the origin pump, which notes for every
 *   marker whether a placeholder may stand there (`sighted`);
 * - the assembling rewriter, which puts a placeholder where an out-of-order
 *   fragment has not settled yet (`placeholder`), and the settled fragments'
 *   templates wherever the pump left a flush point (`templates`);
 * - the pump, which leaves a flush point in the stream whenever one has
 *   settled and the stream is at a safe place, and holds the page's end until
 *   nothing is owed (`take`, `due`, `drain`).
 */

/** A point in the stream where the rewriter puts the templates that are ready. */
const FLUSH = new TextEncoder().encode('<tessera-flush></tessera-flush>');
/** The same, just before `</body>`: the rewriter says when it gets there. */
const FLUSH_AT_BODY_END = new TextEncoder().encode('<tessera-flush data-body-end></tessera-flush>');

export const FLUSH_ELEMENT = 'tessera-flush';

/** How the scanner and the rewriter name the same marker. */
export function slotMarker(id: string): string {
  return `slot:${id}`;
}

export function includeMarker(include: IncludeAttributes): string {
  return `include:${include.id ?? ''}\n${include.src ?? ''}\n${include.alt ?? ''}`;
}

/** A placeholder holding `content` until its template arrives; without content, a bare insertion point. */
export function placeholderMarkup(name: string, content: string): string {
  return content ? `<?start name="${name}">${content}<?end>` : `<?marker name="${name}">`;
}

export function placeholderStart(name: string): string {
  return `<?start name="${name}">`;
}

export const PLACEHOLDER_END = '<?end>';

export class OutOfOrderPage {
  /** Per marker, in document order: whether the scanner found it where a placeholder may stand. */
  private readonly sightings = new Map<string, boolean[]>();
  private count = 0;
  /** Templates ready to go, in the order their fragments settled. */
  private ready: string[] = [];
  /** Placeholders whose fragment has not settled. */
  private unsettled = 0;
  /** A fragment settled since the pump last left a flush point. */
  private settledSinceFlush = false;
  private scriptSent = false;
  private wake: (() => void) | undefined;
  private nextSettle: Promise<void> | undefined;
  private drained = false;
  private bodyEndReached: (() => void) | undefined;
  private readonly atBodyEnd = new Promise<void>((resolve) => (this.bodyEndReached = resolve));

  constructor(
    /** The nonce the page's CSP asks inline scripts for, if it asks for one. */
    private readonly nonce: string | undefined,
  ) {}

  /** The scanner passed a marker: whether its placeholder would parse as the fragment would (see OpenElements). */
  sighted(marker: string, placeable: boolean): void {
    const queue = this.sightings.get(marker);
    if (queue) queue.push(placeable);
    else this.sightings.set(marker, [placeable]);
  }

  /** The rewriter reached a marker: whether it may get a placeholder. Every marker asks once, so the order stays in step. */
  mayPlace(marker: string): boolean {
    return this.sightings.get(marker)?.shift() ?? false;
  }

  /**
   * A placeholder's name, for a fragment still on its way. When `content`
   * settles its template is ready; `null` means no template (the placeholder
   * stays, as the marker's content would have).
   */
  placeholder(content: Promise<string | null>): string {
    const name = `tessera-${++this.count}`;
    this.unsettled++;
    void content.then((html) => {
      this.unsettled--;
      if (html !== null) this.ready.push(`<template for="${name}">${html}</template>`);
      this.settledSinceFlush = true;
      this.notify();
    });
    return name;
  }

  /** For the rewriter at a flush point: every template ready, after the fallback script the first time. */
  templates(): string {
    if (this.ready.length === 0) return '';
    const markup = this.ready.join('');
    this.ready = [];
    if (this.scriptSent) return markup;
    this.scriptSent = true;
    return patchScriptTag(this.nonce) + markup;
  }

  /** The rewriter reached the flush point before `</body>`: every placeholder there will be is placed. */
  reachedBodyEnd(): void {
    this.bodyEndReached?.();
  }

  /** For the pump: resolves the next time a fragment settles. */
  due(): Promise<void> {
    this.nextSettle ??= new Promise<void>((resolve) => (this.wake = resolve));
    return this.nextSettle;
  }

  /** For the pump between origin chunks: a flush point, if a fragment settled since the last and the stream is at a safe place. */
  take(atSafePoint: boolean): Uint8Array | undefined {
    if (!this.settledSinceFlush || !atSafePoint) return undefined;
    this.settledSinceFlush = false;
    return FLUSH;
  }

  /**
   * For the pump before `</body>` (or the end of the page): flush points,
   * one after each fragment that settles, until no placeholder is owed. The
   * page's last bytes follow. Only the first call drains; it stops when
   * `signal` aborts (the page ended early).
   */
  async *drain(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    if (this.drained) return;
    this.drained = true;
    this.settledSinceFlush = false;
    yield FLUSH_AT_BODY_END;
    if (!(await unlessAborted(this.atBodyEnd, signal))) return;
    for (;;) {
      if (this.settledSinceFlush) {
        this.settledSinceFlush = false;
        yield FLUSH;
        continue;
      }
      if (this.unsettled === 0) return;
      if (!(await unlessAborted(this.due(), signal))) return;
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    this.nextSettle = undefined;
    wake?.();
  }
}

/** Whether `promise` resolved before `signal` aborted. */
function unlessAborted(promise: Promise<void>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    });
  });
}
