// Requests a minute per key (a token's subject, a client address), counted in fixed one-minute windows: one Map
// lookup and no allocation per request, so it can sit in front of the decision API, which relays ask once per
// message. A window's counts are dropped whole when it ends, so memory holds the keys of one minute.
import { performance } from 'node:perf_hooks';

const WINDOW_MS = 60_000;

export class RequestBudget {
  readonly perMinute: number;
  readonly #now: () => number;
  #windowStart = Number.NEGATIVE_INFINITY;
  readonly #counts = new Map<string, number>();

  constructor(perMinute: number, now: () => number = () => performance.now()) {
    this.perMinute = perMinute;
    this.#now = now;
  }

  /** Counts a request of `key`; the seconds until its budget renews when it is spent, else 0. */
  take(key: string): number {
    const now = this.#now();
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#counts.clear();
      this.#windowStart = now;
    }
    const count = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, count);
    return count <= this.perMinute ? 0 : Math.ceil((this.#windowStart + WINDOW_MS - now) / 1000);
  }
}
