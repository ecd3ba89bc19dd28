/**
 * One Cache API operation on the named cache, or `undefined` where the
 * runtime has no Cache configured (bare `workerd serve` without a cache
 * service, as the benches run it): the runtime says so by throwing from
 * `match` and `put`, once is enough, and the cache is not asked again. A
 * layer that gets `undefined` answers as if it held nothing. In production
 * and under Miniflare there is a Cache; any other failure is thrown as before.
 */
const unconfigured = new Set<string>();

export async function withCache<T>(name: string, use: (cache: Cache) => Promise<T>, storage: CacheStorage = caches): Promise<T | undefined> {
  if (unconfigured.has(name)) return undefined;
  try {
    return await use(await storage.open(name));
  } catch (error) {
    if (!/no cache was configured/i.test(String(error))) throw error;
    unconfigured.add(name);
    console.warn(`tessera: this runtime has no Cache API configured: the ${name} layer is skipped`);
    return undefined;
  }
}
