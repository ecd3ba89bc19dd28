import { originRequestsEsi } from '../http/headers';
import { escapeHtml } from '../lib/escape-html';
import { parseUrl } from '../lib/parse-url';
import { isNegotiationHeader } from '../request/visitor-inputs';
import { type Cacheability, cacheability } from './cacheability';
import type { Release } from './connection-slots';

/**
 * One fragment request: a GET carrying only the declared headers, with a
 * timeout that covers the headers *and* the body, and a size cap. Anything but
 * a 2xx with a body within the cap is a failure; the fragment's own
 * `Set-Cookie` and other headers are never passed on: only its markup, and
 * its `Link` header (the assets it declares), which the assembler reads.
 */
export interface FragmentFetchOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  maxBytes: number;
  headers: Headers;
  /** Aborted when the page request ends, so abandoned fragments stop too. */
  signal?: AbortSignal;
  /** Redirects are followed only to URLs this allows (the SSRF rule applies to every hop). */
  allowRedirect: (location: URL) => boolean;
  /** Lower-cased media types accepted; `text/plain` is escaped into HTML. */
  contentTypes: readonly string[];
  /** A cached copy's validators: the request is conditional, and a 304 means "still good". */
  validators?: Validators;
  /** Whether the answer may be cached is judged only for fragments that are (it costs a cache-policy parse). */
  judgeCacheability: boolean;
  /**
   * Waits for a connection slot of the page (absent: sent at once). The
   * timeout starts when the request is actually sent, and the slot is freed
   * when its response headers arrive.
   */
  slot?: (signal: AbortSignal) => Promise<Release>;
  /** Each request's response headers arrived (redirects included). */
  onResponse?: (url: URL, status: number) => void;
}

export interface Validators {
  etag?: string;
  lastModified?: string;
}

const MAX_REDIRECTS = 3;

export type FragmentFetchResult =
  | {
      ok: true;
      kind: 'content';
      html: string;
      /** The fragment opted in to ESI with its own Surrogate-Control. */
      esi: boolean;
      /** Whether a shared cache may keep it. */
      cacheability: Cacheability;
      validators: Validators;
      /** The answer's `Link` header (the fragment's assets, read by assemble/), and the URL it is relative to. */
      link?: { value: string; base: string };
    }
  /** The conditional request's answer: the cached copy is still current. */
  | { ok: true; kind: 'not-modified' }
  | { ok: false; reason: 'timeout' | 'error' | 'refused'; detail: string };

export class FragmentTimeout extends Error {
  constructor(ms: number) {
    super(`no complete response within ${ms}ms`);
  }
}

export async function fetchFragment(url: URL, options: FragmentFetchOptions): Promise<FragmentFetchResult> {
  const controller = new AbortController();
  // An abort settles the race at once, without depending on the fetch noticing (a cancelled request's fetch never does).
  const onAbort = () => {
    controller.abort(options.signal?.reason);
    rejectExpired(options.signal?.reason);
  };
  let rejectExpired: (error: unknown) => void = () => {};
  const expired = new Promise<never>((_, reject) => (rejectExpired = reject));
  expired.catch(() => {});
  options.signal?.addEventListener('abort', onAbort);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The timeout error is made only when it fires: an Error captures a stack trace, which costs CPU on every fetch.
  const startTimer = () => {
    timer ??= setTimeout(() => {
      const timeout = new FragmentTimeout(options.timeoutMs);
      controller.abort(timeout);
      rejectExpired(timeout);
    }, options.timeoutMs);
  };
  try {
    let response: Response;
    let target = url;
    let headers = withValidators(options.headers, options.validators);
    for (let hop = 0; ; hop++) {
      const release = options.slot ? await options.slot(controller.signal) : undefined;
      startTimer();
      try {
        response = await Promise.race([options.fetch(target.toString(), { method: 'GET', headers, redirect: 'manual', signal: controller.signal }), expired]);
      } finally {
        release?.();
      }
      options.onResponse?.(target, response.status);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || location === null) break;
      await response.body?.cancel();
      const next = parseUrl(location, target.toString());
      if (!next || !options.allowRedirect(next)) return { ok: false, reason: 'refused', detail: `redirect to ${location} is not the origin or a listed host` };
      if (hop === MAX_REDIRECTS) return { ok: false, reason: 'error', detail: `more than ${MAX_REDIRECTS} redirects` };
      if (next.origin !== target.origin) headers = withoutCredentials(headers);
      target = next;
    }
    if (response.status === 304 && options.validators) {
      await response.body?.cancel();
      return { ok: true, kind: 'not-modified' };
    }
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel();
      return { ok: false, reason: 'error', detail: `status ${response.status}` };
    }
    const type = mediaType(response.headers);
    if (!options.contentTypes.includes(type)) {
      await response.body?.cancel();
      return { ok: false, reason: 'error', detail: `content-type ${type || '(none)'} is not accepted (contentTypes: ${options.contentTypes.join(', ')})` };
    }
    const text = await Promise.race([readCapped(response, options.maxBytes), expired]);
    const html = type === 'text/plain' ? escapeHtml(text) : text;
    return {
      ok: true,
      kind: 'content',
      html,
      esi: originRequestsEsi(response.headers),
      cacheability: options.judgeCacheability ? cacheability(target, headers, response) : { storable: false, why: 'the fragment is not cached' },
      validators: { etag: response.headers.get('etag') ?? undefined, lastModified: response.headers.get('last-modified') ?? undefined },
      link: linkHeader(response.headers, target),
    };
  } catch (error) {
    const reason = controller.signal.reason;
    // Stops a body that is still streaming after a timeout or an oversize read. (Every other way out has read or
    // cancelled the body already, and an abort costs measurable CPU per fragment.)
    controller.abort();
    if (error instanceof FragmentTimeout || reason instanceof FragmentTimeout) return { ok: false, reason: 'timeout', detail: (reason ?? error).message };
    return { ok: false, reason: 'error', detail: error instanceof Error ? error.message : String(error) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** A fragment's `Link` header, kept as sent (up to `MAX_LINK_BYTES`: a longer one is ignored) for the assembler to read its assets. */
const MAX_LINK_BYTES = 8 * 1024;

function linkHeader(headers: Headers, url: URL): { value: string; base: string } | undefined {
  const value = headers.get('link');
  return value && value.length <= MAX_LINK_BYTES ? { value, base: url.href } : undefined;
}

function withValidators(headers: Headers, validators: Validators | undefined): Headers {
  if (!validators?.etag && !validators?.lastModified) return headers;
  const conditional = new Headers(headers);
  if (validators.etag) conditional.set('if-none-match', validators.etag);
  if (validators.lastModified) conditional.set('if-modified-since', validators.lastModified);
  return conditional;
}

/**
 * A fragment that declares no type is markup: Varnish backends, many nginx
 * locations and most hand-written fragment services send none, and every ESI
 * engine inserts such a body as HTML. A declared type is taken at its word.
 */
function mediaType(headers: Headers): string {
  const declared = headers.get('content-type');
  return declared === null ? 'text/html' : declared.split(';')[0].trim().toLowerCase();
}

/**
 * A redirect to another host gets none of the visitor's credentials: only
 * content negotiation survives, as browsers drop Authorization across origins.
 */
function withoutCredentials(headers: Headers): Headers {
  const kept = new Headers();
  for (const [name, value] of headers) {
    if (name === 'surrogate-capability' || name === 'traceparent' || name === 'tracestate' || isNegotiationHeader(name)) kept.set(name, value);
  }
  return kept;
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`body of ${declared} bytes exceeds the ${maxBytes}-byte cap`);
  }
  if (!response.body) return '';
  // A declared length within the cap bounds the body already: one native read.
  if (declared > 0 && response.headers.get('content-encoding') === null) return response.text();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let html = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`body exceeds the ${maxBytes}-byte cap`);
    }
    html += decoder.decode(value, { stream: true });
  }
  return html + decoder.decode();
}
