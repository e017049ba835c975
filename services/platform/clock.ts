import type { Clock } from './ports.js';

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: tests and simulations place events in time deterministically. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  set(at: number): void {
    this.#now = at;
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}
