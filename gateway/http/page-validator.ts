import { concatBytes } from '../lib/concat-bytes';
import { hex } from '../lib/hex';

/**
 * The validator of an assembled page, and the conditional request it
 * answers. An assembled page never carries the origin's validators (a
 * fragment may have changed under them); it gets one of its own only when
 * every part of it is known before the headers go out. The ETag is weak (the
 * gateway does not promise byte ranges) and is a SHA-256 over what makes the
 * body: the route's compiled manifest, the cached page's bytes (its digest)
 * and each marker's rendered output, in order. So it covers this visitor's
 * variant of every fragment, and two bodies that differ anywhere never share
 * one.
 */
export async function pageEtag(routeVersion: string, pageDigest: string, parts: ReadonlyArray<ReadonlyArray<Uint8Array | string>>): Promise<string> {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [encoder.encode(`${routeVersion}\n${pageDigest}\n`)];
  for (const pieces of parts) {
    const encoded = pieces.map((piece) => (typeof piece === 'string' ? encoder.encode(piece) : piece));
    // Each marker's length first, so that output moving from one marker to the next changes the hash.
    chunks.push(encoder.encode(`${encoded.reduce((sum, bytes) => sum + bytes.byteLength, 0)}:`), ...encoded);
  }
  return `W/"${hex(new Uint8Array(await crypto.subtle.digest('SHA-256', concatBytes(chunks)))).slice(0, 32)}"`;
}

/** `If-None-Match` against the page's ETag, by the weak comparison RFC 9110 §13.1.2 asks for. */
export function noneMatch(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const wanted = opaque(etag);
  return header.split(',').some((tag) => opaque(tag) === wanted);
}

/** The headers a 304 carries (RFC 9110 §15.4.5): those a 200 would have sent that a cache updates its copy with. */
const NOT_MODIFIED_HEADERS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'server-timing'];

export function notModified(headers: Headers): Response {
  const kept = new Headers();
  for (const name of NOT_MODIFIED_HEADERS) {
    const value = headers.get(name);
    if (value !== null) kept.set(name, value);
  }
  // A cookie the gateway sets for this visitor (an experiment's visitor id) must reach them on a 304 too.
  for (const cookie of headers.getAll('set-cookie')) kept.append('set-cookie', cookie);
  return new Response(null, { status: 304, headers: kept });
}

const routeVersions = new WeakMap<object, Promise<string>>();

/** A digest of a route's compiled manifest: a change to how the page is assembled changes every ETag. */
export function routeVersion(route: object): Promise<string> {
  let version = routeVersions.get(route);
  if (!version) {
    version = crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(route))).then((d) => hex(new Uint8Array(d)).slice(0, 16));
    routeVersions.set(route, version);
  }
  return version;
}
