import type { CompiledRoute } from './types';

/**
 * Cache-Control for an assembled page: it is as cacheable as its least
 * cacheable part, and private if any part varies per user. The origin's own
 * directives are only ever tightened, never loosened, and no freshness is
 * added that the origin did not grant. Computed from the manifest, since the
 * header leaves before the fragments arrive.
 */
const PER_USER_HEADERS = new Set(['cookie', 'authorization']);

export function pageCacheControl(origin: string | null, route: CompiledRoute, esiActive: boolean): string | null {
  const directives = parse(origin);
  if (directives.has('no-store')) return origin;
  const fragments = Object.values(route.fragments);
  if (fragments.length === 0 && !esiActive) return origin;

  const perUser =
    fragments.some((f) => f.forwardHeaders.some((h) => PER_USER_HEADERS.has(h)) || f.src.parts.some((p) => typeof p !== 'string' && p.source === 'cookie')) ||
    (esiActive && route.defaults.forwardHeaders.some((h) => PER_USER_HEADERS.has(h)));
  const ttls = fragments.map((f) => f.ttlMs);
  if (esiActive) ttls.push(route.defaults.ttlMs); // undeclared includes get the defaults
  const fragmentSeconds = Math.floor(Math.min(...ttls) / 1000);

  if (perUser || directives.has('private')) {
    directives.delete('public');
    directives.delete('s-maxage');
    directives.set('private', undefined);
  }
  if (fragmentSeconds === 0) {
    directives.delete('max-age');
    directives.delete('s-maxage');
    directives.delete('public');
    directives.delete('immutable');
    directives.set('no-cache', undefined);
  } else {
    for (const name of ['max-age', 's-maxage']) {
      const value = directives.get(name);
      if (value !== undefined) directives.set(name, String(Math.min(Number(value) || 0, fragmentSeconds)));
    }
    directives.delete('immutable');
  }
  return directives.size ? [...directives].map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(', ') : null;
}

function parse(header: string | null): Map<string, string | undefined> {
  const directives = new Map<string, string | undefined>();
  for (const part of (header ?? '').split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim());
    if (name) directives.set(name.toLowerCase(), value?.replace(/^"|"$/g, ''));
  }
  return directives;
}
