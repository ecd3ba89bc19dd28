/**
 * The first request header whose value holds a control character other than
 * tab (C0 or DEL), or undefined. HTTP allows none of them in a field value
 * (RFC 9110 §5.5), yet the runtime hands them to the Worker and would
 * forward them as they are, to the origin and to any fragment host the header
 * is forwarded to. An origin that parses strictly answers 400 or drops the
 * connection, which the visitor would see as the origin's failure.
 */
export function unforwardableHeader(headers: Iterable<[string, string]>): string | undefined {
  for (const [name, value] of headers) {
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i);
      if ((code < 0x20 && code !== 0x09) || code === 0x7f) return name;
    }
  }
  return undefined;
}

/** What the 400 for such a header says: the header's name, never its value. */
export function unforwardableHeaderMessage(name: string): string {
  return `The request header ${name} holds a control character, so it cannot be forwarded.`;
}
