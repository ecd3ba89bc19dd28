/**
 * The stylesheets and scripts of the demo's fragments, served by the demo
 * origin under /assets/ with a little latency (as from a real server), so
 * that what the gateway does with them shows: the header and the footer share
 * chrome.css, the recommendations bring recs.css and recs.js, and the price
 * (a fragment "you cannot change") gets price.css from the manifest.
 */
export const ASSET_DELAY_MS = 120;

export const ASSETS: Record<string, { type: string; body: string }> = {
  '/assets/chrome.css': {
    type: 'text/css',
    body: `header.site, footer.site { background: #1d3b53; color: #fff; padding: 12px 24px; }
header.site a { color: #fff; margin-right: 16px; text-decoration: none; }
header.site .logo { font-weight: 700; }
footer.site { margin-top: 32px; font-size: .9em; } footer.site a { color: #cde; }
.newsletter { margin: 4px 0 0; }
`,
  },
  '/assets/price.css': { type: 'text/css', body: '.price strong { color: #b3261e; letter-spacing: .02em; }\n' },
  '/assets/recs.css': {
    type: 'text/css',
    body: `.recs h2 { font-size: 1.1em; margin: 0 0 8px; }
.recs ul { list-style: none; padding: 0; margin: 0; } .recs li { padding: 6px 0; border-bottom: 1px solid #eee; }
.recs li[data-seen] { font-weight: 600; }
`,
  },
  '/assets/recs.js': {
    type: 'text/javascript',
    // Marks the first recommendation once the fragment and its script are both in the page.
    body: "document.querySelector('.recs li')?.setAttribute('data-seen', '');\n",
  },
};
