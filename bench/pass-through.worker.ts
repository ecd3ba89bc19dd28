/** The baseline for runtime overhead: a one-line proxy to ORIGIN on the same workerd. */
export default {
  fetch(request: Request, env: { ORIGIN: string }) {
    const url = new URL(request.url);
    return fetch(new Request(env.ORIGIN + url.pathname + url.search, request));
  },
};
