import type { RequestReadings } from './request-readings';
import { safeDecode } from './safe-decode';

/**
 * The `name:value,name:value` lists two of the gateway's switches take
 * (`?tessera-fault=recs:timeout`, `?tessera-variant=recs:new`), in the query
 * or in a cookie of the same name: where they are read, and how a list
 * splits into its parts.
 */
export interface SwitchPart {
  /** The part as written, trimmed. */
  part: string;
  /** Before the last `:` (a src keeps its own colons); empty when there is nothing there. */
  name: string;
  /** After the last `:`. */
  value: string;
}

/** The list the request asks for: the query's, else the cookie's (decoded); null when neither. */
export function switchList(url: URL, param: string, readings: RequestReadings): string | null {
  const asked = url.searchParams.get(param);
  if (asked !== null) return asked;
  // The cookie is only parsed when the header could name the switch at all: most requests carry cookies, and none of them this one.
  const cookie = readings.cookieHeader()?.includes(param) ? readings.cookies().get(param) : undefined;
  return cookie === undefined ? null : safeDecode(cookie);
}

/** Each part of a list that is not blank, in order. */
export function switchParts(list: string): SwitchPart[] {
  const parts: SwitchPart[] = [];
  for (const raw of list.split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const at = part.lastIndexOf(':');
    parts.push({ part, name: at > 0 ? part.slice(0, at).trim() : '', value: part.slice(at + 1).trim() });
  }
  return parts;
}
