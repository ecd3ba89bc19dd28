/**
 * The URL's query less the arguments `drop` names, as `?…` (or '' when none
 * is left). Names are compared decoded, as `searchParams` reads them
 * (`tessera%2Ddebug` is `tessera-debug`); every argument kept stays byte for
 * byte as the client wrote it, so a signed query stays valid.
 */
export function withoutArguments(url: URL, drop: (name: string) => boolean): string {
  // Most queries carry none: the URL's own parse answers that, and the pair by pair filter runs only when one does.
  if (!url.search || ![...url.searchParams.keys()].some(drop)) return url.search;
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((pair) => {
      const [name] = new URLSearchParams(pair).keys();
      return name === undefined || !drop(name);
    });
  return kept.length ? `?${kept.join('&')}` : '';
}
