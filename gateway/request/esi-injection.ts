/**
 * ESI injection: an origin that reflects a query value (or a header, or a
 * cookie) into its page unescaped, on a route where Tessera processes ESI,
 * lets a visitor write `<esi:include src="/internal/…">` or
 * `<esi:vars>$(HTTP_COOKIE{session})</esi:vars>` into the page, and have the
 * gateway run it. (Akamai's answer is "Detect and Deny ESI Injection".)
 *
 * What the request carries is read as an attacker would encode it: percent-
 * encoded (even twice), as character references (`&lt;`, `&#60;`, `&#x3c;`),
 * or as script escapes (`\u003c`, `\x3c`), and case-folded.
 */
const ESI_MARKUP = /<\/?esi:|<!--esi/;

/** What the 400 for a request carrying ESI markup says. */
export const ESI_INJECTION_REFUSAL = 'This request carries ESI markup, which this site does not accept.';
const MAX_DECODES = 3;

/** Where ESI markup was found in the request (`path`, `query`, `header <name>`), or `undefined`. */
export function esiMarkupIn(request: Request, url: URL): string | undefined {
  if (carriesEsi(url.pathname)) return 'path';
  if (carriesEsi(url.search)) return 'query';
  for (const [name, value] of request.headers) if (carriesEsi(value)) return `header ${name}`;
  return undefined;
}

function carriesEsi(raw: string): boolean {
  // Nearly every request carries none of the characters an encoding of "<" or "esi" needs: one cheap test first.
  if (!/[<%&\\]|esi/i.test(raw)) return false;
  let text = raw;
  for (let i = 0; i <= MAX_DECODES; i++) {
    const plain = unescapeAll(text).toLowerCase();
    if (ESI_MARKUP.test(plain)) return true;
    const decoded = percentDecode(text);
    if (decoded === text) return false;
    text = decoded;
  }
  return false;
}

function unescapeAll(text: string): string {
  return text
    .replace(/&lt;?/gi, '<')
    .replace(/&#0*60;?/g, '<')
    .replace(/&#x0*3c;?/gi, '<')
    .replace(/\\u003c/gi, '<')
    .replace(/\\x3c/gi, '<')
    .replace(/\+/g, ' ');
}

function percentDecode(text: string): string {
  // Sequence by sequence, so one malformed escape does not hide the rest.
  return text.replace(/%[0-9a-f]{2}/gi, (sequence) => String.fromCharCode(Number.parseInt(sequence.slice(1), 16)));
}

/** Longest encoding of `<esi:` or `<!--esi` the check undoes (`%25253C` thrice-encoded, `&#x0003c;`): the scan's overlap between chunks. */
const OVERLAP = 64;
/** How long an answer waits for the scan of a body the origin has not read to its end. */
const SCAN_WAIT_MS = 1000;

/**
 * The body of a form (any method but GET and HEAD) on its way to the origin:
 * an origin that echoes a field back ("You wrote: …") is the commonest
 * reflection of all. The body streams through unchanged; `found` says, once
 * the body has passed, whether it carried ESI markup.
 */
export class EsiBodyScan {
  private tail = '';
  private hit = false;
  private done!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.done = resolve));
  private readonly decoder = new TextDecoder('latin1');
  readonly stream: TransformStream<Uint8Array, Uint8Array>;

  constructor() {
    this.stream = new TransformStream({
      transform: (chunk, controller) => {
        if (!this.hit) {
          const text = this.tail + this.decoder.decode(chunk, { stream: true });
          if (carriesEsi(text)) {
            this.hit = true;
            this.done();
          }
          this.tail = text.slice(-OVERLAP);
        }
        controller.enqueue(chunk);
      },
      flush: () => this.done(),
    });
  }

  /**
   * Whether the body carried ESI markup: answered once it has all passed. An
   * origin that answered without reading all of it gets the benefit of no
   * doubt: a body not seen whole counts as carrying markup.
   */
  async found(): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const seen = await Promise.race([
      this.finished.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SCAN_WAIT_MS))),
    ]);
    if (timer !== undefined) clearTimeout(timer);
    return this.hit || !seen;
  }
}
