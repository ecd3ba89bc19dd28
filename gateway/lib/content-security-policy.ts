/**
 * Reading a page's Content-Security-Policy for what it says about inline
 * script elements. Several policies (a comma-joined header, or several
 * headers) all apply: a script runs only if every one allows it.
 */

/** A policy's directives, trimmed, in order. */
export function directivesOf(policy: string): string[] {
  return policy
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean);
}

/** The directive's name, lower-cased. */
export function directiveName(directive: string): string {
  return directive.toLowerCase().split(/\s+/)[0];
}

function sourcesOf(directive: string): string[] {
  return directive.split(/\s+/).slice(1);
}

/** Whether an inline script is refused under this directive (a nonce or hash switches 'unsafe-inline' off). */
export function restrictsInline(directive: string): boolean {
  const sources = sourcesOf(directive).map((s) => s.toLowerCase());
  const keyed = sources.some((s) => s.startsWith("'nonce-") || s.startsWith("'sha") || s === "'strict-dynamic'");
  return keyed || !sources.includes("'unsafe-inline'");
}

/** What may run an inline script of ours on the page: anything, only one carrying this nonce, or nothing. */
export type InlineScriptAllowance = { kind: 'allowed' } | { kind: 'nonce'; nonce: string } | { kind: 'refused' };

export function inlineScriptAllowance(csp: string | null): InlineScriptAllowance {
  if (!csp) return { kind: 'allowed' };
  let nonces: Set<string> | undefined;
  for (const policy of csp.split(',')) {
    const directives = directivesOf(policy);
    // script-src-elem governs script elements, then script-src, then default-src.
    const governing = ['script-src-elem', 'script-src', 'default-src'].map((name) => directives.find((d) => directiveName(d) === name)).find(Boolean);
    if (!governing || !restrictsInline(governing)) continue;
    const offered = new Set(
      sourcesOf(governing)
        .filter((s) => /^'nonce-[A-Za-z0-9+/_=-]+'$/.test(s))
        .map((s) => s.slice(7, -1)),
    );
    nonces = nonces ? new Set([...nonces].filter((n) => offered.has(n))) : offered;
    if (nonces.size === 0) return { kind: 'refused' };
  }
  return nonces ? { kind: 'nonce', nonce: [...nonces][0] } : { kind: 'allowed' };
}
