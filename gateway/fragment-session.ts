import pLimit from 'p-limit';
import { type ChainContext, chainFailure, type RawFragment, type ResolvedUrl, runFailureChain } from './fragment-chain';
import type { HostPolicy } from './host-policy';
import { type RequestVars, resolveSrc } from './request-vars';
import type { TimingEntry } from './server-timing';
import type { CompiledRoute, FragmentResult, FragmentSpec, SrcTemplate } from './types';

/**
 * Everything one page request knows about its fragments. Fragments are
 * *consumed in parallel and flushed in series*: every fetch starts as early as
 * it can (at request start for declared fragments, from the look-ahead scan
 * for undeclared includes, as soon as a fragment arrives for the includes
 * inside it), and the assembling rewriter only ever awaits work already in
 * flight. Identical fragments within the request share one fetch.
 */

export interface IncludeAttributes {
  src?: string | null;
  alt?: string | null;
  id?: string | null;
}

/** Where a marker sits: the page (depth 0) or inside a chain of fragments. */
export interface MarkupContext {
  depth: number;
  chain: readonly string[];
  /** Whether `<esi:include>` is processed in this markup. */
  esi: boolean;
}

interface Entry {
  key: string;
  id: string;
  /** Nesting level of the markup that first asked for it (page = 0). */
  depth: number;
  raw: Promise<RawFragment>;
  settled?: FragmentResult;
}

/** Renders the markers inside a fragment; supplied by the assembler to avoid a module cycle. */
export type NestedAssembler = (html: string, session: FragmentSession, context: MarkupContext) => Promise<string>;
/** Finds `<esi:include>`s in fetched markup so their fetches start before assembly. */
export type IncludeScanner = (html: string, onInclude: (include: IncludeAttributes) => void) => Promise<void>;

export interface FragmentSessionOptions {
  route: CompiledRoute;
  policy: HostPolicy;
  vars: RequestVars;
  request: Request;
  fetch: typeof fetch;
  /** The page's lifetime: when it aborts (client gone, deadline), every fragment fetch stops. */
  signal: AbortSignal;
  /** Whether the page itself had ESI processing switched on. */
  pageEsi: () => boolean;
  assembleNested: NestedAssembler;
  scanIncludes: IncludeScanner;
}

export class FragmentSession {
  private readonly entries = new Map<string, Entry>();
  private readonly declaredByUrl = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly chain: ChainContext;

  constructor(private readonly options: FragmentSessionOptions) {
    const { route, policy, request, fetch, pageEsi } = options;
    const signal = AbortSignal.any([options.signal, this.abort.signal]);
    this.chain = { route, policy, request, fetch, pageEsi, limit: pLimit(route.limits.concurrency), signal };
  }

  /** Starts every declared fragment whose src resolves from the request. */
  prefetchDeclared(): void {
    for (const spec of Object.values(this.options.route.fragments)) this.declared(spec);
  }

  /** Required fragments settle before the status line is sent; true when all delivered content. */
  async requiredDelivered(): Promise<{ ok: boolean; failed: FragmentResult[] }> {
    const required = Object.values(this.options.route.fragments).filter((f) => f.required);
    const results = await Promise.all(required.map((spec) => this.declared(spec).raw));
    const failed = results.map((r) => r.result).filter((r) => r.source !== 'src' && r.source !== 'fallback-src');
    return { ok: failed.length === 0, failed };
  }

  /** Content for `<div data-slot="id">`; `undefined` leaves an undeclared slot untouched; `null` keeps it. */
  slot(id: string, context: MarkupContext): Promise<string | null> | undefined {
    const spec = this.options.route.fragments[id];
    if (!spec) return undefined;
    return this.render(this.declared(spec, context.depth), context);
  }

  /** Content for an `<esi:include>`. */
  async include(include: IncludeAttributes, context: MarkupContext): Promise<string> {
    const entry = this.includeEntry(include, context.depth);
    if (!entry) return '';
    return (await this.render(entry, context)) ?? '';
  }

  /** Look-ahead: start the fetch for an include the rewriter has not reached yet. */
  discover(include: IncludeAttributes, depth = 0): void {
    this.includeEntry(include, depth);
  }

  timings(): TimingEntry[] {
    return [...this.entries.values()].map((e) => ({ id: e.id, result: e.settled }));
  }

  /** Stops fragment work nobody will read (the page turned out not to need assembly). */
  cancel(): void {
    this.abort.abort(new Error('page request finished'));
  }

  private async render(entry: Entry, context: MarkupContext): Promise<string | null> {
    if (context.chain.includes(entry.key)) return ''; // A fragment including itself, directly or not.
    const { result, trusted, esi } = await entry.raw;
    const depth = context.depth + 1;
    if (result.html === null || !trusted || depth > this.options.route.limits.maxDepth) return result.html;
    if (!mayContainMarkers(result.html)) return result.html;
    return this.options.assembleNested(result.html, this, { depth, chain: [...context.chain, entry.key], esi });
  }

  private declared(spec: FragmentSpec, depth = 0): Entry {
    const key = `id:${spec.id}`;
    const existing = this.entries.get(key);
    if (existing) return existing;
    const url = this.resolveTemplate(spec.src);
    if (url.url) this.declaredByUrl.set(url.url.href, key);
    const fallback = spec.fallback.src;
    const fallbackSrc = fallback ? () => this.resolveTemplate(fallback) : undefined;
    return this.start(key, spec.id, depth, () =>
      runFailureChain(this.chain, spec.id, url, fallbackSrc, {
        timeoutMs: spec.timeoutMs,
        forwardHeaders: spec.forwardHeaders,
        contentTypes: spec.contentTypes,
        fallbackHtml: spec.fallback.html,
        keep: spec.fallback.keep,
      }),
    );
  }

  private includeEntry(include: IncludeAttributes, depth: number): Entry | undefined {
    const byId = include.id ? this.options.route.fragments[include.id] : undefined;
    if (byId) return this.declared(byId, depth);
    const src = include.src?.trim();
    if (!src) return undefined;
    const url = this.options.policy.resolve(src);
    const declaredKey = url && this.declaredByUrl.get(url.href);
    if (declaredKey) return this.entries.get(declaredKey);
    const alt = include.alt?.trim() || undefined;
    const key = `url:${url?.href ?? src}|${alt ?? ''}`;
    const existing = this.entries.get(key);
    if (existing) return existing;
    const { defaults } = this.options.route;
    const primary = url ? { url } : { refused: src };
    const fallbackSrc = alt ? () => this.resolvePlain(alt) : undefined;
    return this.start(key, src, depth, () =>
      runFailureChain(this.chain, src, primary, fallbackSrc, {
        timeoutMs: defaults.timeoutMs,
        forwardHeaders: defaults.forwardHeaders,
        contentTypes: defaults.contentTypes,
        keep: false,
      }),
    );
  }

  private start(key: string, id: string, depth: number, run: () => Promise<RawFragment>): Entry {
    const { maxIncludes, maxDepth } = this.options.route.limits;
    if (this.entries.size >= maxIncludes) {
      const result = chainFailure(id, 'error', 'empty', `more than ${maxIncludes} includes on this page`, 0);
      return { key, id, depth, raw: Promise.resolve({ result, trusted: false, esi: false }), settled: result };
    }
    const entry: Entry = { key, id, depth, raw: run() };
    this.entries.set(key, entry);
    void entry.raw.then((raw) => {
      entry.settled = raw.result;
      // Start the includes inside this fragment now, not when the rewriter reaches them.
      const html = raw.result.html;
      if (raw.trusted && raw.esi && html && depth + 1 <= maxDepth && html.includes('<esi:')) {
        void this.options.scanIncludes(html, (nested) => this.discover(nested, depth + 1)).catch(() => {});
      }
    });
    return entry;
  }

  private resolvePlain(src: string): ResolvedUrl {
    const url = this.options.policy.resolve(src);
    return url ? { url } : { refused: src };
  }

  private resolveTemplate(template: SrcTemplate): ResolvedUrl {
    const resolved = resolveSrc(template, this.options.vars);
    if (!resolved.ok) return { unresolved: resolved.problem };
    return this.resolvePlain(resolved.src);
  }
}

/** Cheap pre-check so plain fragments skip a second rewriter pass. */
function mayContainMarkers(html: string): boolean {
  return html.includes('<esi:') || html.includes('data-slot');
}
