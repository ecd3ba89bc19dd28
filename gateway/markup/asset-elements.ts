import { closesRawText, commentEnd, declarationEnd, decodeEntities, findAttribute, isLetter, RAW_TEXT_ELEMENTS, readTag, type Tag, tagName } from './tokenizer';

/**
 * The asset elements in a piece of markup: `<link rel=stylesheet|preload|
 * modulepreload href>` and `<script src>…</script>`, found with the gateway's
 * one tokenizer, so a `<link>` written inside a comment, a script, a style or
 * an attribute value is never taken for one. The assembler uses it to keep
 * each asset once per page (assemble/page-assets.ts), on a fragment's markup
 * and on a cached page's own bytes.
 */
export interface AssetElement {
  /** Where the element's markup starts and ends (a script: through `</script>`). */
  start: number;
  end: number;
  /** `stylesheet`, `preload`, `modulepreload` (a link's first such relation), or `script`. */
  rel: 'stylesheet' | 'preload' | 'modulepreload' | 'script';
  /** As written, character references decoded. */
  href: string;
}

const BANG = 0x21;
const QUESTION = 0x3f;
const SLASH = 0x2f;
const LINK_RELS = ['stylesheet', 'modulepreload', 'preload'] as const;

/**
 * Every asset element of `text`, in order. `value` reads an attribute's text
 * (a cached page is read as one character per byte, and its values are UTF-8).
 */
export function findAssetElements(text: string, value: (start: number, end: number) => string = (start, end) => text.slice(start, end)): AssetElement[] {
  const found: AssetElement[] = [];
  const attribute = (tag: Tag, name: string) => {
    const attr = findAttribute(text, tag, name);
    return attr ? (attr.value ? decodeEntities(value(attr.value.start, attr.value.end)) : '') : null;
  };
  let at = text.indexOf('<');
  while (at !== -1 && at < text.length - 1) {
    const next = text.charCodeAt(at + 1);
    if (next === BANG) {
      const end = text.startsWith('<!--', at) ? commentEnd(text, at + 4) : declarationEnd(text, at);
      if (end === -1) break;
      at = text.indexOf('<', end);
      continue;
    }
    if (next === QUESTION) {
      const end = declarationEnd(text, at);
      if (end === -1) break;
      at = text.indexOf('<', end);
      continue;
    }
    if (!isLetter(next) && !(next === SLASH && isLetter(text.charCodeAt(at + 2)))) {
      at = text.indexOf('<', at + 1);
      continue;
    }
    const tag = readTag(text, at);
    if (!tag) break;
    const name = tag.closing ? '' : tagName(text, tag);
    let end = tag.end;
    if (name === 'link') {
      const rel = assetRel(attribute(tag, 'rel'));
      const href = attribute(tag, 'href');
      if (rel && href) found.push({ start: at, end, rel, href });
    } else if ((RAW_TEXT_ELEMENTS as readonly string[]).includes(name)) {
      end = rawTextEnd(text, tag.end, name);
      if (name === 'script') {
        const src = attribute(tag, 'src');
        if (src && end !== -1) found.push({ start: at, end, rel: 'script', href: src });
      }
      if (end === -1) break;
    }
    at = text.indexOf('<', end);
  }
  return found;
}

/** Just after the end tag of raw-text element `name` whose content starts at `from`; -1 when it does not end in the text. */
function rawTextEnd(text: string, from: number, name: string): number {
  for (let lt = text.indexOf('</', from); lt !== -1; lt = text.indexOf('</', lt + 2)) {
    if (!closesRawText(text, lt, name)) continue;
    const gt = text.indexOf('>', lt);
    return gt === -1 ? -1 : gt + 1;
  }
  return -1;
}

/** The relation an asset `<link>` has for the page (its `rel` tokens, in order of importance); `undefined` for any other link. */
export function assetRel(rel: string | null): Exclude<AssetElement['rel'], 'script'> | undefined {
  const rels = (rel ?? '').toLowerCase().split(/[\t\n\f\r ]+/);
  return LINK_RELS.find((r) => rels.includes(r));
}

/** Whether markup may hold asset elements at all: a cheap test before the scan. */
export function mayHoldAssetElements(text: string): boolean {
  return /<(?:link|script)\b/i.test(text);
}
