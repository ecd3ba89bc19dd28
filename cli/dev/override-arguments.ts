import type { DevOverrides } from '../../gateway/fragments/dev-overrides';

/** `recs=http://127.0.0.1:5173/recs` or `pricing.example.com=http://127.0.0.1:5173`, as the CLI takes them. */
export function overridesFromArguments(values: readonly string[]): DevOverrides {
  const overrides: DevOverrides = { fragments: {}, hosts: {} };
  for (const value of values) {
    const at = value.indexOf('=');
    const key = value.slice(0, at);
    const target = value.slice(at + 1);
    if (at <= 0 || !URL.canParse(target) || !/^https?:$/.test(new URL(target).protocol)) {
      throw new Error(`--override expects id=URL or host=URL, such as recs=http://127.0.0.1:5173/recs; got "${value}"`);
    }
    if (/^[A-Za-z][A-Za-z0-9_-]*$/.test(key) && key !== 'localhost') overrides.fragments[key] = target;
    else overrides.hosts[new URL(/^https?:\/\//.test(key) ? key : `https://${key}`).origin] = new URL(target).origin;
  }
  return overrides;
}
