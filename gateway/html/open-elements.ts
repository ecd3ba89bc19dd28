/**
 * The few open elements that decide where out-of-order markup may go, kept
 * by the markup scanner as it passes start and end tags. It is a small part
 * of the HTML parser's stack of open elements, not all of it: tables and
 * their cells, `<select>`, foreign content (`<svg>`, `<math>`), `<template>`
 * and `<noscript>`. Where it cannot be sure it errs towards "not safe",
 * which only ever means a fragment renders in document order.
 */
const CELLS = new Set(['td', 'th', 'caption']);
/** Start or end tags that close any cell still open in the current table. */
const ROW_TAGS = new Set(['tr', 'tbody', 'thead', 'tfoot', 'colgroup']);
/** Contexts whose content the parser treats differently from the body's (or not at all). */
const OPAQUE = new Set(['select', 'svg', 'math', 'template', 'noscript']);
const FOREIGN = new Set(['svg', 'math']);

/** First letters of every tag name this tracks, so other tags cost one comparison. */
export const TRACKED_INITIALS = new Set(['t', 'c', 's', 'm', 'n']);

export class OpenElements {
  private readonly stack: string[] = [];

  /** A start tag (name in lower case) in the markup. */
  start(name: string, selfClosing: boolean): void {
    if (ROW_TAGS.has(name)) {
      this.closeCells();
      return;
    }
    if (CELLS.has(name)) {
      this.closeCells();
      this.stack.push(name);
      return;
    }
    if (name === 'table' || OPAQUE.has(name)) {
      // Only foreign elements may close themselves; `<table/>` is an open table to HTML.
      if (selfClosing && FOREIGN.has(name)) return;
      this.stack.push(name);
    }
  }

  /** An end tag (name in lower case). */
  end(name: string): void {
    if (ROW_TAGS.has(name)) {
      this.closeCells();
      return;
    }
    const at = this.stack.lastIndexOf(name);
    if (at !== -1) this.stack.length = at;
  }

  /**
   * Whether a `<template>` inserted here lands in the body as a template: not
   * inside a table, a select, foreign content, another template or a noscript.
   */
  get templateSafe(): boolean {
    return this.stack.length === 0;
  }

  /**
   * Whether markup placed here parses as it would inside a `<template>`: in
   * flow content, or in a table cell. In a table outside a cell (rows), in a
   * select or in foreign content the same markup would build a different tree.
   */
  get placementSafe(): boolean {
    const { stack } = this;
    for (let i = 0; i < stack.length; i++) {
      const name = stack[i];
      if (OPAQUE.has(name)) return false;
      if (name === 'table' && !CELLS.has(stack[i + 1] ?? '')) return false;
    }
    return true;
  }

  private closeCells(): void {
    const { stack } = this;
    while (stack.length && CELLS.has(stack[stack.length - 1])) stack.pop();
  }
}
