import { directiveName, directivesOf, restrictsInline } from '../lib/content-security-policy';

/**
 * The page's Content-Security-Policy, changed only as far as the debug view's
 * one inline script needs: where scripts are limited to nonces or hashes, our
 * nonce is added to the directive that governs script elements. A policy that
 * allows inline scripts already, or says nothing about scripts, is left as it
 * is (a nonce there would switch 'unsafe-inline' off for the page's own
 * scripts). The overlay's styles are constructed stylesheets, which CSP does
 * not govern.
 */
export function allowDebugScript(csp: string | null, nonce: string): string | null {
  if (!csp) return csp;
  return csp
    .split(',')
    .map((policy) => withNonce(policy, nonce))
    .join(',');
}

function withNonce(policy: string, nonce: string): string {
  const directives = directivesOf(policy);
  const find = (name: string) => directives.findIndex((d) => directiveName(d) === name);
  const source = `'nonce-${nonce}'`;
  const governing = ['script-src-elem', 'script-src'].map(find).filter((i) => i !== -1);
  if (governing.length === 0) {
    const fallback = find('default-src');
    if (fallback === -1 || !restrictsInline(directives[fallback])) return policy;
    directives.push(`script-src ${directives[fallback].split(/\s+/).slice(1).join(' ')} ${source}`);
    return directives.join('; ');
  }
  for (const index of governing) if (restrictsInline(directives[index])) directives[index] = `${directives[index]} ${source}`;
  return directives.join('; ');
}
