/**
 * The floor an assembling Worker is measured against: the origin page through
 * one bare HTMLRewriter pass (no handlers), plus the fragment fetches, each
 * read to text and dropped. `?fragments=N` fetches /frag/0 … /frag/N-1.
 */
export default {
  async fetch(request: Request, env: { ORIGIN: string }) {
    const url = new URL(request.url);
    const count = Number(url.searchParams.get('fragments') ?? 0);
    const fragments = Array.from({ length: count }, (_, i) => fetch(`${env.ORIGIN}/frag/${i}`).then((r) => r.text()));
    const page = await fetch(env.ORIGIN + url.pathname);
    await Promise.all(fragments);
    return new HTMLRewriter().transform(page);
  },
};
