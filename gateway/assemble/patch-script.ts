/**
 * The fallback for templates the browser does not apply itself: all of them
 * where `<template for>` (declarative out-of-order patching) is not
 * supported, and, where it is, any that landed outside the element holding
 * its placeholder (browsers patch only from a template whose parent contains
 * the placeholder). It is sent once per page, just before the first
 * template. A template the browser applied never enters the DOM, so the
 * script only ever sees the others.
 *
 * Elsewhere the placeholders are processing-instruction nodes (browsers that
 * parse `<?…>` as such) or comments whose text starts with `?` (browsers that
 * parse them as bogus comments). A template is applied once the parser has
 * moved past it (it has a next sibling), or at DOMContentLoaded: what lies
 * between `<?start name="x">` and its `<?end>` (or the `<?marker name="x">`)
 * is replaced by the template's content, and the markers and template go.
 *
 * It touches only the templates named with this response's unguessable
 * prefix: any other `<template for>` is the page's own content, which stays
 * as it would in order (and as browsers leave one whose name matches no
 * placeholder).
 */
const SOURCE = `(()=>{
const d=document,
k=n=>n.nodeType==7?[n.target,n.data]:n.nodeType==8&&(n=/^\\?(\\w+)\\s*([^]*?)\\??$/.exec(n.data))?[n[1],n[2]]:0,
run=()=>{for(const t of d.querySelectorAll("template[for^='PREFIX']")){
if(!t.nextSibling&&d.readyState=="loading")continue;
const w=d.createTreeWalker(d,192),f=t.getAttribute("for");let s,n,m;
while(n=w.nextNode())if((m=k(n))&&(m[0]=="start"||m[0]=="marker")&&/name="([^"]*)"/.exec(m[1])?.[1]==f){s=n;break}
if(s){if(m[0]=="start")for(let e=s.nextSibling,l=0;e;){const x=e.nextSibling,j=k(e);e.remove();if(j&&j[0]=="start")l++;if(j&&j[0]=="end"&&!l--)break;e=x}
s.replaceWith(t.content)}
t.remove()}};
new MutationObserver(run).observe(d,{childList:true,subtree:true});
d.addEventListener("DOMContentLoaded",run)})()`;

const [BEFORE_PREFIX, AFTER_PREFIX] = SOURCE.replaceAll('\n', '').split('PREFIX');

/** The script for the templates whose names start with `prefix` (letters, digits and hyphens). */
export function patchScript(prefix: string): string {
  return BEFORE_PREFIX + prefix + AFTER_PREFIX;
}

/** The script element, with the page's nonce when its CSP asks for one. */
export function patchScriptTag(prefix: string, nonce: string | undefined): string {
  return `<script${nonce === undefined ? '' : ` nonce="${nonce}"`}>${patchScript(prefix)}</script>`;
}
