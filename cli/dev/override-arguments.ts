import type { DevOverrides } from '../../gateway/fetch/dev-overrides';
import { hostOrigin } from '../../gateway/manifest/compile';
import { FRAGMENT_ID } from '../../gateway/manifest/schema';
import { isHttpUrl } from '../http-url';

/** `recs=http://127.0.0.1:5173/recs` or `pricing.example.com=http://127.0.0.1:5173`, as the CLI takes them. */
export function overridesFromArguments(values: readonly string[]): DevOverrides {
  const overrides: DevOverrides = { fragments: {}, hosts: {} };
  for (const value of values) {
    const at = value.indexOf('=');
    const key = value.slice(0, at);
    const target = value.slice(at + 1);
    const refused = new Error(`--override expects id=URL or host=URL, such as recs=http://127.0.0.1:5173/recs; got "${value}"`);
    if (at <= 0 || !isHttpUrl(target)) throw refused;
    if (FRAGMENT_ID.test(key) && key !== 'localhost') {
      overrides.fragments[key] = target;
      continue;
    }
    const host = hostOrigin(key);
    if (!host) throw refused;
    overrides.hosts[host] = new URL(target).origin;
  }
  return overrides;
}
