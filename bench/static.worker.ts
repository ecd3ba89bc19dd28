/**
 * The static floor: the bench origin's 100 KB data-slot page served from the
 * isolate's memory, the way a Worker serving a static asset would: no
 * rewriter, no fragments, no origin request after the first. The page is
 * fetched from ORIGIN once (the first request, shared by any that come while
 * it runs) and kept as bytes.
 */
let page: Promise<Uint8Array> | undefined;

export default {
  async fetch(_request: Request, env: { ORIGIN: string }) {
    if (!page) {
      page = fetch(`${env.ORIGIN}/page`).then(async (response) => {
        if (!response.ok) throw new Error(`the origin answered ${response.status}`);
        return new Uint8Array(await response.arrayBuffer());
      });
      // A failed first fetch is tried again by the next request.
      page.catch(() => (page = undefined));
    }
    return new Response(await page, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  },
};
