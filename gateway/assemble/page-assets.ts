import type { PlacedFragment } from '../contract/fragment-source';
import type { AssetSpec, CompiledRoute, FragmentResult } from '../contract/types';
import type { HostPolicy } from '../fetch/host-policy';
import { readAssetLinks } from '../http/asset-links';
import { escapeHtml } from '../lib/escape-html';
import { parseUrl } from '../lib/parse-url';
import { randomToken } from '../lib/random-token';
import { type AssetElement, findAssetElements, mayHoldAssetElements } from '../markup/asset-elements';

/**
 * One page's asset ledger: each stylesheet and script a fragment needs goes
 * into the page once, in front of the first fragment that needs it.
 *
 * A fragment's assets are what its manifest entry declares (`assets:`), what
 * its `Link` header names (both through the host rule), and the `<link
 * rel=stylesheet|preload|modulepreload>` and `<script src>` elements in its
 * own markup. When a fragment is rendered (`dress`), each of them becomes a
 * sealed token in its markup: declared stylesheets and hints in front of it,
 * declared scripts after it, its own elements where they stand. Which token
 * turns into markup is decided only when the markup is written (`resolve`),
 * in the order the page is written: the first of each asset is kept, the
 * others go, and an asset the page's own markup already has before that point
 * (`own`) is never added again. Deciding at write time, not when a fragment
 * happens to settle, keeps the streamed page and a cached page rendered from
 * its compiled form byte for byte the same, whatever order fragments arrive in.
 *
 * An out-of-order fragment's template gets its stylesheets and hints in front
 * of the `<template>` element (`resolveTemplate`): inside it they would be
 * inserted by script when the template is applied, and would not hold its
 * rendering until they load, as a parser-inserted stylesheet does.
 */

/** What an asset is to the page: a stylesheet, a script, or a hint (preload, modulepreload) that only fetches. */
type Kind = 'style' | 'script' | 'hint';

interface Token {
  /** The URL as the page's markup names it (see `keyOf`). */
  key: string;
  kind: Kind;
  /** What goes into the page if it is the first of its kind and URL. */
  markup: string;
  /** The fragment it belongs to. */
  fragment: string;
  from: AssetRecord['from'];
  /** In a template, it goes in front of the template element. */
  hoist: boolean;
  /** How the page's `Link` header would announce it. */
  asset: AssetSpec;
}

/** What became of one asset of one fragment, for the debug view. */
export interface AssetRecord {
  fragment: string;
  href: string;
  rel: AssetSpec['rel'];
  from: 'manifest' | 'link' | 'markup';
  /** `placed`; `duplicate` (dropped: `by` had it first, `page` for the page's own markup); `refused` (`note` says why). */
  state: 'placed' | 'duplicate' | 'refused';
  by?: string;
  note?: string;
}

/** A fragment's assets, worked out once per markup: its tokens' parts, before they get numbers. */
interface Plan {
  markup: string;
  before: Omit<Token, 'fragment'>[];
  inside: Array<{ element: AssetElement; token: Omit<Token, 'fragment'> }>;
  after: Omit<Token, 'fragment'>[];
  refused: AssetRecord[];
}

export interface PageAssetsOptions {
  route: CompiledRoute;
  /** The route's host rule: declared assets must pass it, as fragments do. Its origin is what manifest assets are relative to. */
  policy: HostPolicy;
  /** The page's URL as the browser sees it: what the hrefs in markup are relative to. */
  pageUrl: URL;
}

const TOKEN_START = '\u0001';
const TOKEN_END = '\u0002';

export class PageAssets {
  /** Made when the first token is: most views have no assets to place, and a regex costs its compile on every view. */
  private sealed: { seal: string; pattern: RegExp } | undefined;
  private readonly tokens: Token[] = [];
  /** `kind\nkey` → who placed it first (a fragment id, or `page`). */
  private readonly claimed = new Map<string, string>();
  /** URL → who placed it first, whatever its kind: a hint for something already there is dropped. */
  private readonly claimedUrls = new Map<string, string>();
  private readonly plans = new WeakMap<FragmentResult, Plan>();
  /** `kind\nkey\nfragment` for each fragment's declared stylesheet placed in the head (`head`). */
  private readonly inHead = new Set<string>();
  private local: ReadonlySet<string> | undefined;
  /** Every asset decision, in the order made (refusals when the fragment was rendered, the rest as written). */
  readonly records: AssetRecord[] = [];
  /** The fragments' assets this page placed, in document order: what its route remembers for the next page's `Link` header. */
  readonly placed: DeclaredAsset[] = [];

  constructor(private readonly options: PageAssetsOptions) {}

  /**
   * A fetched fragment's markup, about to be rendered, with its assets as
   * tokens. Static fallbacks have none: they go in as they are.
   */
  dress(fragment: PlacedFragment, markup: string): string {
    const plan = this.plan(fragment.result, markup);
    if (!plan) return markup;
    const id = fragment.result.id;
    const { seal } = this.seal();
    const token = (part: Omit<Token, 'fragment'>) => `${TOKEN_START}${seal}${this.tokens.push({ ...part, fragment: id }) - 1}${TOKEN_END}`;
    let out = plan.before.map(token).join('');
    let at = 0;
    for (const { element, token: part } of plan.inside) {
      out += markup.slice(at, element.start) + token(part);
      at = element.end;
    }
    out += markup.slice(at) + plan.after.map(token).join('');
    for (const record of plan.refused) this.records.push(record);
    return out;
  }

  private seal(): { seal: string; pattern: RegExp } {
    if (!this.sealed) {
      const seal = randomToken();
      this.sealed = { seal, pattern: new RegExp(`${TOKEN_START}${seal}(\\d+)${TOKEN_END}`, 'g') };
    }
    return this.sealed;
  }

  /** Whether markup holds asset tokens (the page's own elements before it must be known by then: `own`). */
  holdsTokens(html: string): boolean {
    return this.tokens.length > 0 && html.includes(TOKEN_START);
  }

  /** Markup being written to the page, in page order: each asset token becomes its markup the first time, and nothing after. */
  resolve(html: string): string {
    if (this.tokens.length === 0 || !html.includes(TOKEN_START)) return html;
    return html.replace(this.seal().pattern, (_, index: string) => this.claim(this.tokens[Number(index)]));
  }

  /** A template's content being written: its stylesheets and hints, to go in front of the template, and the rest. */
  resolveTemplate(html: string): { before: string; html: string } {
    if (this.tokens.length === 0 || !html.includes(TOKEN_START)) return { before: '', html };
    let before = '';
    const rest = html.replace(this.seal().pattern, (_, index: string) => {
      const token = this.tokens[Number(index)];
      const markup = this.claim(token);
      if (!token.hoist) return markup;
      before += markup;
      return '';
    });
    return { before, html: rest };
  }

  /**
   * At the page's `</head>`: the stylesheets the route's manifest declares
   * for its fragments, known before any of them arrives, go in the head, so
   * no fragment is painted before its styles (those it names only in its
   * `Link` header or its markup are known later, and go in front of it). The
   * page's own elements in the head come first: one it already has is not
   * added again.
   */
  head(): string {
    const { route, policy } = this.options;
    let markup = '';
    for (const [fragment, spec] of Object.entries(route.fragments)) {
      for (const asset of spec.assets ?? []) {
        if (asset.rel !== 'stylesheet') continue;
        const url = policy.resolve(asset.href);
        if (!url) continue; // refused when the fragment is rendered, and said so there
        const key = this.keyOf(url);
        const placed = this.claim({ key, kind: 'style', markup: assetMarkup(key, asset), fragment, from: 'manifest', hoist: true, asset });
        if (placed) this.inHead.add(`style\n${key}\n${fragment}`);
        markup += placed;
      }
    }
    return markup;
  }

  /** An asset element of the page's own markup, reached as the page is written: fragments after it do not add it again. */
  own(element: Pick<AssetElement, 'rel' | 'href'>): void {
    const url = parseUrl(element.href, this.options.pageUrl.href);
    if (!url) return;
    const key = this.keyOf(url);
    const kind = kindOf(element.rel);
    if (!this.claimed.has(`${kind}\n${key}`)) this.claimed.set(`${kind}\n${key}`, 'page');
    if (!this.claimedUrls.has(key)) this.claimedUrls.set(key, 'page');
  }

  private claim(token: Token | undefined): string {
    if (!token) return '';
    // The fragment's own declared stylesheet, already in the head for it: nothing to add, nothing to report twice.
    if (this.inHead.has(`${token.kind}\n${token.key}\n${token.fragment}`)) return '';
    const holder = this.claimed.get(`${token.kind}\n${token.key}`) ?? (token.kind === 'hint' ? this.claimedUrls.get(token.key) : undefined);
    const record = { fragment: token.fragment, href: token.key, rel: token.asset.rel, from: token.from };
    if (holder !== undefined) {
      this.records.push({ ...record, state: 'duplicate', by: holder });
      return '';
    }
    this.claimed.set(`${token.kind}\n${token.key}`, token.fragment);
    if (!this.claimedUrls.has(token.key)) this.claimedUrls.set(token.key, token.fragment);
    this.records.push({ ...record, state: 'placed' });
    this.placed.push({ href: token.key, asset: token.asset });
    return token.markup;
  }

  private plan(result: FragmentResult, markup: string): Plan | undefined {
    const known = this.plans.get(result);
    if (known?.markup === markup) return known;
    const { fragments } = this.options.route;
    const declared = (Object.hasOwn(fragments, result.id) ? fragments[result.id].assets : undefined) ?? [];
    const elements = mayHoldAssetElements(markup) ? findAssetElements(markup) : [];
    if (!declared.length && !result.link && !elements.length) return undefined;
    const plan: Plan = { markup, before: [], inside: [], after: [], refused: [] };
    const { policy } = this.options;
    const add = (asset: AssetSpec, from: 'manifest' | 'link', base: string, fragmentUrl?: URL) => {
      const url = parseUrl(asset.href, base);
      const refuse = (note: string) => plan.refused.push({ fragment: result.id, href: asset.href, rel: asset.rel, from, state: 'refused', note });
      if (!url || !policy.resolve(url.href)) return refuse(`${url?.origin ?? asset.href} is not the origin or a listed host`);
      // A fragment from a host not trusted for ESI (a dev override) names assets on its own host only.
      if (fragmentUrl && !policy.resolve(fragmentUrl.href) && url.origin !== fragmentUrl.origin) {
        return refuse(`the fragment's host ${fragmentUrl.origin} is not trusted, and may name assets on its own host only`);
      }
      const key = this.keyOf(url);
      const part = { key, kind: kindOf(asset.rel), markup: assetMarkup(key, asset), from, hoist: asset.rel !== 'script', asset };
      (asset.rel === 'script' ? plan.after : plan.before).push(part);
    };
    for (const asset of declared) add(asset, 'manifest', policy.origin);
    if (result.link) {
      const fragmentUrl = parseUrl(result.link.base);
      const read = readAssetLinks(result.link.value);
      if (read.problem) plan.refused.push({ fragment: result.id, href: '', rel: 'stylesheet', from: 'link', state: 'refused', note: read.problem });
      for (const asset of read.assets) add(asset, 'link', result.link.base, fragmentUrl);
    }
    for (const element of elements) {
      const url = parseUrl(element.href, this.options.pageUrl.href);
      if (!url) continue;
      const key = this.keyOf(url);
      const asset: AssetSpec = element.rel === 'preload' ? { href: key, rel: 'preload', as: 'fetch' } : { href: key, rel: element.rel };
      const part = {
        key,
        kind: kindOf(element.rel),
        markup: markup.slice(element.start, element.end),
        from: 'markup' as const,
        hoist: element.rel !== 'script',
        asset,
      };
      plan.inside.push({ element, token: part });
    }
    this.plans.set(result, plan);
    return plan;
  }

  private keyOf(url: URL): string {
    this.local ??= localOrigins(this.options.policy, this.options.pageUrl);
    return assetKey(url, this.local);
  }
}

/** An asset with the URL the page names it by. */
export interface DeclaredAsset {
  href: string;
  asset: AssetSpec;
}

/** The assets the route's manifest declares for its fragments (`assets:`) that pass its host rule, in manifest order. */
export function declaredAssets(route: CompiledRoute, policy: HostPolicy, pageUrl: URL): DeclaredAsset[] {
  const local = localOrigins(policy, pageUrl);
  const out: DeclaredAsset[] = [];
  for (const spec of Object.values(route.fragments)) {
    for (const asset of spec.assets ?? []) {
      const url = policy.resolve(asset.href);
      if (url) out.push({ href: assetKey(url, local), asset });
    }
  }
  return out;
}

function localOrigins(policy: HostPolicy, pageUrl: URL): ReadonlySet<string> {
  return new Set([pageUrl.origin, new URL(policy.origin).origin]);
}

/** A URL as the page names it: a path on the page's own host and on the origin (which the gateway serves), else whole. */
function assetKey(url: URL, local: ReadonlySet<string>): string {
  return local.has(url.origin) ? `${url.pathname}${url.search}` : `${url.origin}${url.pathname}${url.search}`;
}

function kindOf(rel: AssetSpec['rel']): Kind {
  return rel === 'stylesheet' ? 'style' : rel === 'script' ? 'script' : 'hint';
}

/** The element a declared asset becomes. */
function assetMarkup(href: string, asset: AssetSpec): string {
  const attr = (name: string, value: string | undefined) => (value === undefined ? '' : value === '' ? ` ${name}` : ` ${name}="${escapeHtml(value)}"`);
  const common = attr('crossorigin', asset.crossorigin) + attr('integrity', asset.integrity);
  const src = escapeHtml(href);
  switch (asset.rel) {
    case 'stylesheet':
      return `<link rel="stylesheet" href="${src}"${attr('media', asset.media)}${common}>`;
    case 'script':
      return `<script src="${src}"${attr('type', asset.type)}${asset.async ? ' async' : ''}${asset.defer ? ' defer' : ''}${common}></script>`;
    case 'modulepreload':
      return `<link rel="modulepreload" href="${src}"${common}>`;
    case 'preload':
      return `<link rel="preload" href="${src}"${attr('as', asset.as)}${common}>`;
  }
}
