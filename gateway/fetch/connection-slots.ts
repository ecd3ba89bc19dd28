/**
 * The subrequests of one page invocation, counted the way Workers counts
 * them: at most `size` connections *waiting for response headers*; more are
 * queued until one of them has its headers (a body still being read no longer
 * counts). Production enforces this; local workerd does not, so the gateway
 * keeps the count itself, which makes `tessera dev` and the benchmarks behave
 * as deployed, and lets it choose what goes next: the lowest rank, read when
 * a slot frees, so a place in the document learned while waiting still counts.
 */
export type Rank = () => number;

/** Frees the slot; called when the response headers arrived, or the request failed. */
export type Release = () => void;

interface Waiter {
  rank: Rank;
  grant: (release: Release) => void;
}

export class ConnectionSlots {
  private waiting = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly size: number) {}

  /** Whether a request asking now would have to wait. */
  get full(): boolean {
    return this.waiting >= this.size;
  }

  /** A slot, once one is free and nothing ranked before `rank` is queued; rejects when `signal` aborts first. */
  acquire(rank: Rank, signal: AbortSignal): Promise<Release> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.waiting < this.size) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        rank,
        grant: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = () => {
        const at = this.queue.indexOf(waiter);
        if (at !== -1) this.queue.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Runs `send` (a fetch: it resolves at response headers) in a slot. */
  async send<T>(rank: Rank, signal: AbortSignal, send: () => Promise<T>): Promise<T> {
    const release = await this.acquire(rank, signal);
    try {
      return await send();
    } finally {
      release();
    }
  }

  private take(): Release {
    this.waiting++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.waiting--;
      this.next();
    };
  }

  private next(): void {
    if (this.queue.length === 0 || this.waiting >= this.size) return;
    let first = 0;
    for (let i = 1; i < this.queue.length; i++) if (this.queue[i].rank() < this.queue[first].rank()) first = i;
    const [waiter] = this.queue.splice(first, 1);
    waiter.grant(this.take());
  }
}
