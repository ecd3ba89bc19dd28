/**
 * The stack of open elements as the markup scanner passes start and end
 * tags: an approximation of the HTML parser's, good enough to answer three
 * questions about out-of-order markup.
 *
 * - May a placeholder stand here (`placementSafe`)? Only where markup parses
 *   as it would inside a `<template>`: not among table rows, in a select or
 *   in foreign content.
 * - May a template go here (`templateSafe`)? Only where it lands in the body
 *   as a template: not inside a table, a select, foreign content, another
 *   template or a noscript.
 * - Would a browser apply a template here to a given placeholder
 *   (`encloses`)? Browsers patch a placeholder only from a template whose
 *   parent contains it, so the template must go where the current element is
 *   an ancestor of the placeholder.
 *
 * It knows void elements and the implied end tags pages rely on (paragraphs,
 * list items, options, table cells and rows, headings, links, buttons); it
 * does not rebuild formatting elements after misnesting. Where it is wrong, a
 * template lands where the browser does not apply it, and the fallback script
 * applies it instead.
 */

interface Open {
  name: string;
  /** Unique for the page: an element closed and another opened in its place never compare equal. */
  id: number;
  /** A data-slot marker, whose content the gateway replaces: nothing may be put inside it. */
  slot: boolean;
}

/** The body, which every placeholder is inside of: the stack's implied bottom. */
const ROOT = 0;

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr', 'param', 'keygen', 'frame']);
/** Start tags that close an open paragraph. */
const CLOSES_P = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'center',
  'details',
  'dialog',
  'dir',
  'div',
  'dl',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hgroup',
  'hr',
  'li',
  'dd',
  'dt',
  'listing',
  'main',
  'menu',
  'nav',
  'ol',
  'p',
  'pre',
  'search',
  'section',
  'summary',
  'table',
  'ul',
  'xmp',
]);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/** Where the parser stops looking for an element to close implicitly. */
const SCOPE_BOUNDARIES = new Set(['table', 'td', 'th', 'caption', 'template', 'svg', 'math', 'button', 'object', 'marquee', 'applet', 'select']);
/** Elements a list item's implied end does not look past. */
const LIST_BOUNDARIES = new Set([...SCOPE_BOUNDARIES, 'ul', 'ol', 'dl', 'menu', 'section', 'article', 'nav', 'aside', 'main', 'header', 'footer', 'form']);
const CELLS = new Set(['td', 'th', 'caption']);
const TABLE_SECTIONS = new Set(['tbody', 'thead', 'tfoot']);
/** Contexts whose content the parser treats differently from the body's (or not at all). */
const OPAQUE = new Set(['select', 'svg', 'math', 'template', 'noscript']);
const FOREIGN = new Set(['svg', 'math']);
/** The document's own elements: always open, whatever tags the page has for them. */
const DOCUMENT = new Set(['html', 'head', 'body']);

/** Tags that open nothing in the browser's tree: the document's own, and the gateway's markers, which the browser never sees. */
function ignored(name: string): boolean {
  return DOCUMENT.has(name) || name.startsWith('esi:') || name.startsWith('tessera-');
}

/** Where the scanner saw a marker: whether a placeholder may stand there, and the elements it is inside (`scope`). */
export interface Sighting {
  placeable: boolean;
  scope: readonly number[];
}

export class OpenElements {
  private readonly stack: Open[] = [];
  private ids = ROOT;

  /** A start tag (name in lower case) in the markup; `slot` when it carries data-slot. */
  start(name: string, selfClosing: boolean, slot = false): void {
    if (ignored(name)) return;
    if (this.inForeign()) {
      if (!selfClosing) this.push(name, slot);
      return;
    }
    this.closeImplied(name);
    if (VOID.has(name) || (selfClosing && FOREIGN.has(name))) return;
    // A form inside a form is dropped by the parser.
    if (name === 'form' && this.has('form')) return;
    this.push(name, slot);
  }

  /** An end tag (name in lower case). */
  end(name: string): void {
    if (ignored(name)) return;
    const at = this.lastIndex((open) => open.name === name);
    if (at !== -1) this.stack.length = at;
  }

  get templateSafe(): boolean {
    return !this.stack.some((open) => open.slot || open.name === 'table' || OPAQUE.has(open.name));
  }

  get placementSafe(): boolean {
    const { stack } = this;
    for (let i = 0; i < stack.length; i++) {
      const { name } = stack[i];
      if (OPAQUE.has(name)) return false;
      if (name === 'table' || TABLE_SECTIONS.has(name) || name === 'tr') {
        // Among rows only a cell's content parses as flow content.
        if (!stack.slice(i + 1).some((open) => CELLS.has(open.name))) return false;
      }
    }
    return true;
  }

  /**
   * Where a placeholder here sits: the ids of the elements it is inside, the
   * body first. A data-slot's placeholder is its content, but templates never
   * go inside a slot, so the slot itself is left out.
   */
  get scope(): readonly number[] {
    const ids = [ROOT];
    for (const open of this.stack) if (!open.slot) ids.push(open.id);
    return ids;
  }

  /** Whether a template inserted here (a child of the current element) encloses a placeholder placed at `scope`. */
  encloses(scope: readonly number[]): boolean {
    return scope.includes(this.current);
  }

  /** The current element's id (the body's when none is open): what a template inserted here is a child of. */
  get current(): number {
    return this.stack.length ? this.stack[this.stack.length - 1].id : ROOT;
  }

  private closeImplied(name: string): void {
    if (CLOSES_P.has(name)) this.closeInScope('p', SCOPE_BOUNDARIES);
    if (name === 'li') this.closeInScope('li', LIST_BOUNDARIES);
    if (name === 'dd' || name === 'dt') {
      this.closeInScope('dd', LIST_BOUNDARIES);
      this.closeInScope('dt', LIST_BOUNDARIES);
    }
    if (HEADINGS.has(name) && HEADINGS.has(this.top()?.name ?? '')) this.stack.pop();
    if (name === 'option' || name === 'optgroup') {
      if (this.top()?.name === 'option') this.stack.pop();
      if (name === 'optgroup' && this.top()?.name === 'optgroup') this.stack.pop();
    }
    if (name === 'a') this.closeInScope('a', SCOPE_BOUNDARIES);
    if (name === 'button') this.closeInScope('button', new Set([...SCOPE_BOUNDARIES].filter((b) => b !== 'button')));
    if (name === 'tr') this.popUntil((open) => open.name === 'table' || TABLE_SECTIONS.has(open.name));
    if (CELLS.has(name) && name !== 'caption') this.popUntil((open) => open.name === 'tr' || open.name === 'table' || TABLE_SECTIONS.has(open.name));
    if (TABLE_SECTIONS.has(name) || name === 'caption' || name === 'colgroup') this.popUntil((open) => open.name === 'table');
  }

  /** Closes the nearest `name`, unless a boundary comes first. */
  private closeInScope(name: string, boundaries: ReadonlySet<string>): void {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const open = this.stack[i];
      if (open.name === name) {
        this.stack.length = i;
        return;
      }
      if (boundaries.has(open.name)) return;
    }
  }

  /** Pops until `stop` is the current element; nothing when no such element is open. */
  private popUntil(stop: (open: Open) => boolean): void {
    const at = this.lastIndex(stop);
    if (at !== -1) this.stack.length = at + 1;
  }

  private push(name: string, slot: boolean): void {
    this.stack.push({ name, id: ++this.ids, slot });
  }

  private top(): Open | undefined {
    return this.stack[this.stack.length - 1];
  }

  private has(name: string): boolean {
    return this.lastIndex((open) => open.name === name) !== -1;
  }

  private inForeign(): boolean {
    return this.stack.some((open) => FOREIGN.has(open.name));
  }

  private lastIndex(match: (open: Open) => boolean): number {
    for (let i = this.stack.length - 1; i >= 0; i--) if (match(this.stack[i])) return i;
    return -1;
  }
}
