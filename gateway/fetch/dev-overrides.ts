/**
 * `tessera dev --override`: one fragment (by id) or one host pointed at a
 * local server while the rest stay remote, as the Vercel microfrontends
 * proxy and Podium's local podlets allow. Only ever honoured under
 * `tessera dev` (TESSERA_DEV), since an override goes around the host rule.
 */
export interface DevOverrides {
  /** Fragment id → the URL to fetch instead; the src's query is kept. */
  fragments: Record<string, string>;
  /** Host (as a URL origin) → the origin to fetch from instead; path and query are kept. */
  hosts: Record<string, string>;
}

export function parseOverrides(json: string | undefined): DevOverrides | undefined {
  if (!json) return undefined;
  const parsed = JSON.parse(json) as DevOverrides;
  return Object.keys(parsed.fragments).length || Object.keys(parsed.hosts).length ? parsed : undefined;
}

/** Where the fragment is fetched from under the overrides. */
export function overrideUrl(url: URL, fragmentId: string | undefined, overrides: DevOverrides): URL {
  const forFragment = fragmentId === undefined ? undefined : overrides.fragments[fragmentId];
  if (forFragment) {
    const target = new URL(forFragment);
    if (!target.search) target.search = url.search;
    return target;
  }
  const forHost = overrides.hosts[url.origin];
  if (!forHost) return url;
  const target = new URL(forHost);
  target.pathname = url.pathname;
  target.search = url.search;
  return target;
}
