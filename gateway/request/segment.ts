/**
 * The visitor's segment: their user id (from the route's configured cookie or
 * header) looked up in the optional SEGMENTS KV namespace. Personalised
 * fragments are then cached per segment, not per user. Unknown ids, a missing
 * binding and a failing KV all mean "no segment": `{segment|default}` applies,
 * and the page is still served. `VisitorRequest.segment()` asks once per
 * request.
 */
export async function lookupSegment(id: string | undefined, segments: KVNamespace | undefined): Promise<string | undefined> {
  if (!segments || !id) return undefined;
  try {
    return (await segments.get(`user:${id}`, { cacheTtl: 60 })) ?? undefined;
  } catch (error) {
    console.error('tessera: SEGMENTS lookup failed; serving without a segment:', error);
    return undefined;
  }
}
