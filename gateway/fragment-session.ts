import pLimit from 'p-limit';
import { fetchFragment, type FragmentFetchResult } from './fragment-fetch';
import type { HostPolicy } from './host-policy';
import { resolveSrc, type RequestVars } from './request-vars';
import type { TimingEntry } from './server-timing';
import type { CompiledRoute, FragmentOutcome, FragmentResult, FragmentSpec, SrcTemplate } from './types';

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

/** A fetched fragment before the markers inside it are filled. */
interface RawFragment {
  result: FragmentResult;
  /** From the origin or a listed host: its own markers are processed. */
  trusted: boolean;
  /** Whether `<esi:include>` inside it is processed too. */
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
  /** Whether the page itself had ESI processing switched on. */
  pageEsi: () => boolean;
  assembleNested: NestedAssembler;
  scanIncludes: IncludeScanner;
}

export class FragmentSession {
  private readonly entries = new Map<string, Entry>();
  private readonly declaredByUrl = new Map<string, string>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly abort = new AbortController();
  private readonly started = Date.now();

  constructor(private readonly options: FragmentSessionOptions) {
    this.limit = pLimit(options.route.limits.concurrency);
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

  results(): FragmentResult[] {
    return [...this.entries.values()].flatMap((e) => (e.settled ? [e.settled] : []));
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
    const fallbackSrc = spec.fallback.src ? () => this.resolveTemplate(spec.fallback.src!) : undefined;
    return this.start(key, spec.id, depth, () =>
      this.fetchChain(spec.id, url, fallbackSrc, {
        timeoutMs: spec.timeoutMs,
        forwardHeaders: spec.forwardHeaders,
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
      this.fetchChain(src, primary, fallbackSrc, { timeoutMs: defaults.timeoutMs, forwardHeaders: defaults.forwardHeaders, keep: false }),
    );
  }

  private start(key: string, id: string, depth: number, run: () => Promise<RawFragment>): Entry {
    const { maxIncludes, maxDepth } = this.options.route.limits;
    if (this.entries.size >= maxIncludes) {
      const result = failure(id, 'error', 'empty', `more than ${maxIncludes} includes on this page`, 0);
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
    if (!resolved.ok) return { unresolved: `no value for ${resolved.missing}` };
    return this.resolvePlain(resolved.src);
  }

  /** The failure chain: src → fallback src (or `alt`) → fallback html → keep → empty. */
  private async fetchChain(id: string, primary: ResolvedUrl, fallbackSrc: (() => ResolvedUrl) | undefined, plan: ChainPlan): Promise<RawFragment> {
    const began = Date.now();
    const first = await this.attempt(primary, plan);
    if (first.ok) return this.delivered(id, first, 'src', 'miss', undefined, began);

    let detail = first.detail;
    if (fallbackSrc) {
      const second = await this.attempt(fallbackSrc(), plan);
      if (second.ok) return this.delivered(id, second, 'fallback-src', first.outcome, detail, began);
      detail += `; fallback: ${second.detail}`;
    }
    const ms = Date.now() - began;
    const plain = { trusted: false, esi: false };
    if (plan.fallbackHtml !== undefined) return { ...plain, result: { ...failure(id, first.outcome, 'fallback-html', detail, ms), html: plan.fallbackHtml } };
    if (plan.keep) return { ...plain, result: { ...failure(id, first.outcome, 'keep', detail, ms), html: null } };
    return { ...plain, result: failure(id, first.outcome, 'empty', detail, ms) };
  }

  private async attempt(target: ResolvedUrl, plan: ChainPlan): Promise<Attempt> {
    if (target.unresolved) return { ok: false, outcome: 'error', detail: target.unresolved };
    if (!target.url) return { ok: false, outcome: 'refused', detail: `${target.refused} is not the origin or a listed host` };
    const url = target.url;
    const fetched: FragmentFetchResult = await this.limit(() =>
      fetchFragment(url, {
        fetch: this.options.fetch,
        timeoutMs: plan.timeoutMs,
        maxBytes: this.options.route.limits.maxFragmentBytes,
        headers: this.fragmentHeaders(plan.forwardHeaders),
        signal: this.abort.signal,
        allowRedirect: (location) => this.options.policy.resolve(location.href) !== undefined,
      }),
    );
    if (!fetched.ok) return { ok: false, outcome: fetched.reason, detail: `${url.href}: ${fetched.detail}`, url };
    return { ok: true, html: fetched.html, url, esi: fetched.esi };
  }

  private delivered(
    id: string,
    attempt: Extract<Attempt, { ok: true }>,
    source: 'src' | 'fallback-src',
    outcome: FragmentOutcome,
    detail: string | undefined,
    began: number,
  ): RawFragment {
    const { route, policy, pageEsi } = this.options;
    return {
      trusted: policy.isTrusted(attempt.url),
      // ESI inside a fragment follows the page's opt-in, or the fragment's own Surrogate-Control.
      esi: route.esi === 'on' || (route.esi === 'auto' && (pageEsi() || attempt.esi)),
      result: { id, url: attempt.url.href, outcome, source, html: attempt.html, durationMs: Date.now() - began, detail },
    };
  }

  private fragmentHeaders(forward: readonly string[]): Headers {
    const headers = new Headers({ accept: 'text/html', 'surrogate-capability': 'tessera="ESI/1.0"' });
    for (const name of forward) {
      const value = this.options.request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    return headers;
  }
}

interface ResolvedUrl {
  url?: URL;
  refused?: string;
  unresolved?: string;
}

interface ChainPlan {
  timeoutMs: number;
  forwardHeaders: readonly string[];
  fallbackHtml?: string;
  keep: boolean;
}

type Attempt =
  | { ok: true; html: string; url: URL; esi: boolean }
  | { ok: false; outcome: FragmentOutcome; detail: string; url?: URL };

function failure(id: string, outcome: FragmentOutcome, source: FragmentResult['source'], detail: string, durationMs: number): FragmentResult {
  return { id, outcome, source, html: '', durationMs, detail };
}

/** Cheap pre-check so plain fragments skip a second rewriter pass. */
function mayContainMarkers(html: string): boolean {
  return html.includes('<esi:') || html.includes('data-slot');
}
