/// <reference path="./http-link-header.d.ts" />
import LinkHeader from 'http-link-header';
import type { AssetRel, AssetSpec } from '../contract/types';

/**
 * A fragment's assets in its `Link` header, read with an RFC 8288 parser
 * (`http-link-header`: quoted strings, commas and semicolons inside `<…>`,
 * several relations in one `rel`), never by splitting on commas:
 *
 *     Link: </assets/chrome.css>; rel=stylesheet, </assets/nav.js>; rel=script; defer
 *
 * `rel=stylesheet`, `rel=script` (Tailor's `fragment-script` too),
 * `rel=modulepreload` and `rel=preload; as=…` are assets; other relations
 * (`canonical`, `next`, …) are not the page's business and are left out.
 * A header the parser refuses counts as no header: `problem` says why.
 *
 * And the other way: the page's own `Link: <…>; rel=preload` header, built
 * from the assets the page will need, within a byte budget.
 */
export interface AssetLinks {
  assets: AssetSpec[];
  /** Why the header was left out, when it was. */
  problem?: string;
}

const RELS: Record<string, AssetRel> = {
  stylesheet: 'stylesheet',
  script: 'script',
  'fragment-script': 'script',
  modulepreload: 'modulepreload',
  preload: 'preload',
};

/** A link parameter's name, as RFC 8288 allows it: anything else means the parser lost its way (see `readAssetLinks`). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+\*?$/;

export function readAssetLinks(value: string): AssetLinks {
  let refs: LinkHeader.Reference[];
  try {
    refs = LinkHeader.parse(value).refs;
  } catch (error) {
    return { assets: [], problem: `its Link header could not be read (${error instanceof Error ? error.message : error})` };
  }
  const assets: AssetSpec[] = [];
  for (const ref of refs) {
    // The parser reads a parameter without a value (`; defer`) followed by another link as one long name: refuse
    // the header rather than guess. A parameter without a value is read right only as the last one of its link.
    if (Object.keys(ref).some((name) => name !== 'uri' && !TOKEN.test(name))) {
      return { assets: [], problem: 'its Link header could not be read (write a parameter without a value last, or give it one: defer="")' };
    }
    const rel = RELS[String(ref.rel ?? '').toLowerCase()];
    if (!rel || !ref.uri) continue;
    const param = (name: string) => (typeof ref[name] === 'string' ? ref[name] : undefined);
    const asset: AssetSpec = { href: ref.uri, rel };
    if (rel === 'preload') {
      const as = param('as')?.toLowerCase();
      if (!as) continue; // A preload without a destination is ignored by browsers too.
      asset.as = as;
    }
    if (rel === 'script' && param('type')?.toLowerCase() === 'module') asset.type = 'module';
    if (rel === 'script' && param('async') !== undefined) asset.async = true;
    if (rel === 'script' && param('defer') !== undefined) asset.defer = true;
    if (rel === 'stylesheet' && param('media')) asset.media = param('media');
    if (param('crossorigin') !== undefined) asset.crossorigin = param('crossorigin');
    if (param('integrity')) asset.integrity = param('integrity');
    assets.push(asset);
  }
  return { assets };
}

/** An asset as the page's `Link` header announces it: what a browser (or Cloudflare's Early Hints) may fetch before the body says so. */
export function preloadEntry(href: string, asset: AssetSpec): string {
  const target = `<${href}>`;
  const crossorigin = asset.crossorigin !== undefined ? `; crossorigin${asset.crossorigin ? `=${quoted(asset.crossorigin)}` : ''}` : '';
  switch (asset.rel) {
    case 'stylesheet':
      return `${target}; rel=preload; as=style${crossorigin}`;
    case 'script':
      return asset.type === 'module' ? `${target}; rel=modulepreload${crossorigin}` : `${target}; rel=preload; as=script${crossorigin}`;
    case 'modulepreload':
      return `${target}; rel=modulepreload${crossorigin}`;
    case 'preload':
      return `${target}; rel=preload; as=${quoted(asset.as ?? 'fetch')}${crossorigin}`;
  }
}

/** The entries, in order, that fit in `budget` bytes joined with `, ` (an entry that does not fit is skipped; a shorter one after it may fit). */
export function withinBudget(entries: readonly string[], budget: number): string[] {
  const kept: string[] = [];
  let used = 0;
  for (const entry of entries) {
    const cost = entry.length + (kept.length ? 2 : 0);
    if (used + cost > budget) continue;
    kept.push(entry);
    used += cost;
  }
  return kept;
}

function quoted(value: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value) ? value : `"${value.replace(/["\\\r\n]/g, '')}"`;
}
