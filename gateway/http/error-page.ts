import { escapeHtml } from '../lib/escape-html';

/**
 * Pages the gateway writes itself. They say what failed in words a visitor can
 * read; the details go to Server-Timing and the logs, not into the page.
 */
export function errorPage(status: number, message: string, extraHeaders: Record<string, string> = {}, html?: string): Response {
  // A 4xx is the request's fault: trying again later will not help.
  const heading = status >= 500 ? 'This page is temporarily unavailable' : 'This request cannot be answered';
  const body =
    html ??
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status}</title></head>` +
      `<body><h1>${heading}</h1><p>${escapeHtml(message)}</p></body></html>`;
  return new Response(body, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...extraHeaders },
  });
}
