import { hex } from '../lib/hex';

/**
 * W3C Trace Context (traceparent / tracestate). A page request continues the
 * trace its client sent, or starts one; the origin request and every fragment
 * request are spans of it, each with a span id of its own, so a tracing
 * backend shows the page's fan-out under one trace.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

export class TraceContext {
  private constructor(
    readonly traceId: string,
    /** The client's span, which the page's requests are children of (absent for a new trace). */
    readonly parentId: string | undefined,
    readonly flags: string,
    readonly state: string | undefined,
  ) {}

  /** The trace the request carries, or a new, sampled one when it carries none that is valid. */
  static from(request: Request): TraceContext {
    const match = TRACEPARENT.exec((request.headers.get('traceparent') ?? '').trim().toLowerCase());
    if (match && match[1] !== ZERO_TRACE && match[2] !== ZERO_SPAN) {
      return new TraceContext(match[1], match[2], match[3], request.headers.get('tracestate') ?? undefined);
    }
    return new TraceContext(randomHex(16), undefined, '01', undefined);
  }

  /** Headers for one outgoing request: this trace, a new span id. */
  headersForSpan(): Array<[string, string]> {
    const headers: Array<[string, string]> = [['traceparent', `00-${this.traceId}-${randomHex(8)}-${this.flags}`]];
    if (this.state) headers.push(['tracestate', this.state]);
    return headers;
  }
}

function randomHex(bytes: number): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}
