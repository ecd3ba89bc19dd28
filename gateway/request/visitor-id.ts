import type { AssignmentSpec } from '../contract/types';
import type { RequestReadings } from './request-readings';

/**
 * Who the visitor is, for experiments: an id that stays the same across
 * their visits, so they stay in their arm. It comes from the route's
 * `assignment.visitorId` (a cookie or header the site already has, such as
 * its own user id), else from Tessera's first-party cookie; a visitor with
 * neither gets a new random id, which the page's response sets as that cookie.
 * The id is only ever hashed (experiment-assignment.ts): it goes to no
 * fragment host, no log and no metric.
 */
export const VISITOR_COOKIE = 'tessera-visitor';

/** One year: the cookie keeps a visitor in their arms for that long after their first assignment. */
export const VISITOR_COOKIE_MAX_AGE_S = 365 * 24 * 60 * 60;

/** What Tessera itself writes (a UUID), and all it accepts back: anything else in the cookie is replaced. */
const OWN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Where this request's visitor id came from; `minted` has to be set as the cookie, or the visitor gets a new one next time. */
export type VisitorId = { kind: 'configured'; id: string } | { kind: 'cookie'; id: string } | { kind: 'minted'; id: string };

export function readVisitorId(spec: AssignmentSpec, readings: RequestReadings, cookie: (name: string) => string | undefined): VisitorId {
  const source = spec.visitorId;
  const configured = source && (source.source === 'cookie' ? cookie(source.name) : readings.header(source.name))?.trim();
  if (configured) return { kind: 'configured', id: configured };
  const own = cookie(VISITOR_COOKIE);
  if (own && OWN_ID.test(own)) return { kind: 'cookie', id: own };
  return { kind: 'minted', id: crypto.randomUUID() };
}

/** The `Set-Cookie` for a minted id: first-party, one year, never read by scripts; `Secure` on https. */
export function visitorCookie(id: string, secure: boolean): string {
  return `${VISITOR_COOKIE}=${id}; Path=/; Max-Age=${VISITOR_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
