import type { PurgeTargets, VersionStore } from '../fragments/cache/versions';
import { sameSecret } from '../lib/same-secret';

/**
 * `POST /__tessera/purge` with `Authorization: Bearer $TESSERA_ADMIN_TOKEN`
 * and a body such as `{"fragments": ["header"], "tags": ["chrome"], "routes":
 * ["product"]}`. It bumps the versions those fragments' and those routes'
 * cached pages' keys include; a tag purges fragments and pages that carry it. The token is compared in
 * constant time; 401 without one, 403 with a wrong one.
 */
export const PURGE_PATH = '/__tessera/purge';

export async function handlePurge(request: Request, adminToken: string | undefined, versions: VersionStore): Promise<Response> {
  if (!adminToken) return answer(404, { error: 'purge is off: set the TESSERA_ADMIN_TOKEN secret to enable it' });
  if (request.method !== 'POST') return answer(405, { error: 'use POST' }, { allow: 'POST' });
  const presented = /^Bearer (.+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
  if (!presented) return answer(401, { error: 'an Authorization: Bearer token is required' }, { 'www-authenticate': 'Bearer' });
  if (!(await sameSecret(presented, adminToken))) return answer(403, { error: 'the token is not the admin token' });

  const targets = parseTargets(await request.text());
  if (typeof targets === 'string') return answer(400, { error: targets });
  try {
    await versions.purge(targets);
  } catch (error) {
    return answer(501, { error: error instanceof Error ? error.message : String(error) });
  }
  return answer(200, { purged: targets, propagation: 'now in this isolate; within about 70 s everywhere (KV propagation plus a 10 s version memo)' });
}

function parseTargets(body: string): PurgeTargets | string {
  const expected = 'expected JSON such as {"fragments": ["header"], "tags": ["chrome"], "routes": ["product"]}';
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return expected;
  }
  const list = (value: unknown) => (value === undefined ? [] : Array.isArray(value) && value.every((v) => typeof v === 'string' && v) ? value : undefined);
  const record = (data ?? {}) as Record<string, unknown>;
  const fragments = list(record.fragments);
  const tags = list(record.tags);
  const routes = list(record.routes);
  if (!fragments || !tags || !routes || fragments.length + tags.length + routes.length === 0) return expected;
  return { fragments, tags, routes };
}

function answer(status: number, body: object, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(body)}\n`, { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers } });
}
