import { randomToken } from '../lib/random-token';
import type { InBand, Instruction } from '../markup/in-band';
import { OpenElements, type Sighting } from '../markup/open-elements';
import type { PageAssets } from './page-assets';
import { patchScriptTag } from './patch-script';

/**
 * One page's out-of-order fragments, between the three parties that place
 * them:
 *
 * - the markup scanner, ahead in the origin pump, which follows the page's
 *   open elements (`elements`) and notes where every marker stands
 *   (`sighted`);
 * - the assembling rewriter, which puts a placeholder where an out-of-order
 *   fragment has not settled yet (`placeholder`), and the settled fragments'
 *   templates wherever the pump left a flush point (`templates`);
 * - the pump, which leaves a flush point in the stream whenever one has
 *   settled and the stream is at a safe place, and holds the page's end until
 *   nothing is owed (`take`, `due`, `drain`).
 */

const encoder = new TextEncoder();

export type { Sighting } from '../markup/open-elements';

type Template = { state: 'waiting' } | { state: 'ready' | 'flushed'; scope: readonly number[]; html: string } | { state: 'emitted' | 'none' };

export class OutOfOrderPage {
  /** The page's open elements, which the markup scanner keeps as it passes the tags. */
  readonly elements = new OpenElements();
  /** Per marker, in document order, where the scanner saw it. */
  private readonly sightings = new Map<string, Sighting[]>();
  /** By placeholder name, in the order the placeholders were placed. */
  private readonly placed = new Map<string, Template>();
  private unsettled = 0;
  private scriptSent = false;
  /**
   * What this response's placeholder names start with, drawn at the first
   * placeholder. Page content may carry `<template for>` elements of its own
   * (user content through a sanitiser that keeps templates): a name it could
   * guess would let one replace a fragment, natively or through the script.
   */
  private prefix: string | undefined;
  private wake: (() => void) | undefined;
  private nextSettle: Promise<void> | undefined;
  private drained = false;
  private bodyEndReached: (() => void) | undefined;
  private readonly atBodyEnd = new Promise<void>((resolve) => (this.bodyEndReached = resolve));

  constructor(
    /** The nonce the page's CSP asks inline scripts for, if it asks for one. */
    private readonly nonce: string | undefined,
    /** The page's in-band instructions, which flush points are written with. */
    private readonly inBand: InBand,
  ) {}

  /** The scanner passed a marker: where it stands is where the open elements are now. */
  sighted(marker: string): void {
    this.sightedAt(marker, { placeable: this.elements.placementSafe, scope: this.elements.scope });
  }

  /** A marker seen where a page's compiled form says it stands (markup/page-compiler.ts), in document order. */
  sightedAt(marker: string, sighting: Sighting): void {
    const queue = this.sightings.get(marker);
    if (queue) queue.push(sighting);
    else this.sightings.set(marker, [sighting]);
  }

  /**
   * The rewriter reached a marker: where the scanner saw it, if a placeholder
   * may stand there. Every marker asks once, so the answers stay in step.
   */
  mayPlace(marker: string): Sighting | undefined {
    const sighting = this.sightings.get(marker)?.shift();
    return sighting?.placeable ? sighting : undefined;
  }

  /**
   * A placeholder's name, for a fragment still on its way. When `content`
   * settles its template is ready; `null` means no template (the placeholder
   * stays, as the marker's content would have).
   */
  placeholder(content: Promise<string | null>, sighting: Sighting): string {
    this.prefix ??= `tessera-${randomToken()}-`;
    const name = `${this.prefix}${this.placed.size + 1}`;
    const { scope } = sighting;
    this.placed.set(name, { state: 'waiting' });
    this.unsettled++;
    void content.then((html) => {
      this.unsettled--;
      this.placed.set(name, html === null ? { state: 'none' } : { state: 'ready', scope, html });
      this.notify();
    });
    return name;
  }

  /**
   * For the rewriter at a flush point: the named templates (all that are
   * ready, without names), after the fallback script the first time. With
   * the page's `assets`, each template's stylesheets go in front of it.
   */
  templates(names?: readonly string[], assets?: PageAssets): string {
    let markup = '';
    for (const name of names ?? [...this.placed.keys()]) {
      const template = this.placed.get(name);
      if (template?.state !== 'ready' && template?.state !== 'flushed') continue;
      const { before, html } = assets ? assets.resolveTemplate(template.html) : { before: '', html: template.html };
      markup += `${before}<template for="${name}">${html}</template>`;
      this.placed.set(name, { state: 'emitted' });
    }
    if (!markup || this.scriptSent) return markup;
    this.scriptSent = true;
    return patchScriptTag(this.prefix ?? '', this.nonce) + markup;
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

  /**
   * For the pump between origin chunks: a flush point for the templates that
   * are ready and would reach their placeholder from here, if the stream is
   * at a point where markup may go in (the scanner says).
   */
  take(atSafePoint: boolean): Uint8Array | undefined {
    const names = this.takeAt(atSafePoint, this.elements.current);
    return names.length ? this.flush({ kind: 'flush', at: 'named', names }) : undefined;
  }

  /**
   * The templates that are ready and would reach their placeholder from a
   * point inside element `current`, marked flushed: none unless the point is
   * safe. For a compiled page, whose points were found when it was compiled.
   */
  takeAt(safe: boolean, current: number): string[] {
    if (!safe) return [];
    const names: string[] = [];
    for (const [name, template] of this.placed) {
      if (template.state !== 'ready' || !template.scope.includes(current)) continue;
      names.push(name);
      this.placed.set(name, { ...template, state: 'flushed' });
    }
    return names;
  }

  /**
   * For the pump before `</body>` (or the end of the page): flush points for
   * every template ready, and then after each fragment that settles, until no
   * placeholder is owed; the page's last bytes follow. Only the first call
   * drains; it stops when `signal` aborts (the page ended early).
   */
  async *drain(signal: AbortSignal): AsyncGenerator<Uint8Array> {
    for await (const instruction of this.drainInstructions(signal)) yield this.flush(instruction);
  }

  /** The same, as instructions: a compiled page, which no rewriter reads, applies them itself. */
  async *drainInstructions(signal: AbortSignal): AsyncGenerator<Instruction> {
    if (this.drained) return;
    this.drained = true;
    this.flushAll();
    yield { kind: 'flush', at: 'body-end' };
    if (!(await unlessAborted(this.atBodyEnd, signal))) return;
    for (;;) {
      if (this.flushAll()) {
        yield { kind: 'flush', at: 'any' };
        continue;
      }
      if (this.unsettled === 0) return;
      if (!(await unlessAborted(this.due(), signal))) return;
    }
  }

  /** Marks every ready template flushed; whether there was one. */
  private flushAll(): boolean {
    let any = false;
    for (const [name, template] of this.placed) {
      if (template.state !== 'ready') continue;
      this.placed.set(name, { ...template, state: 'flushed' });
      any = true;
    }
    return any;
  }

  private flush(instruction: Instruction): Uint8Array {
    return encoder.encode(this.inBand.write(instruction));
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
