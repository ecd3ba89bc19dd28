/**
 * Work one request starts and other requests await: a coalesced fragment
 * fetch, a KV read memoised for the isolate, a refresh in a Durable Object.
 *
 * workerd cancels a request's I/O when that request ends, and a promise whose
 * I/O was cancelled never settles: not even its `finally` runs. A page that
 * ends early (a 404, a required fragment failed, the client left) would leave
 * its flight in the map for every later page to join and wait on until its
 * own timeout. So each flight is
 * - handed to its owner's `waitUntil`, which keeps the owner's I/O running
 *   until the flight settles, whatever happens to the owner's response; and
 * - bounded: a caller that arrives after `boundMs` starts a flight of its
 *   own instead of joining one that may be dead (a duplicate fetch costs less
 *   than a page that waits for nothing).
 */
export type KeepAlive = (work: Promise<unknown>) => void;

interface Flight<T> {
  promise: Promise<T>;
  joinableUntil: number;
}

export class SharedFlights<T> {
  private readonly flights = new Map<string, Flight<T>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The running flight for `key`, or a new one from `start`, kept alive by the caller's `keepAlive`. */
  join(key: string, boundMs: number, keepAlive: KeepAlive, start: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running && this.now() < running.joinableUntil) return running.promise;
    const flight: Flight<T> = { promise: Promise.resolve(undefined as T), joinableUntil: this.now() + boundMs };
    // A flight that was replaced must not remove its replacement when it finally settles.
    flight.promise = start().finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    keepAlive(flight.promise.catch(() => undefined));
    return flight.promise;
  }

  /** How many flights are in the map (for tests and leak checks). */
  get size(): number {
    return this.flights.size;
  }
}
