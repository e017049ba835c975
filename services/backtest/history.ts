// Per-minute counts of one tenant's counted messages, for the plot of U against the thresholds and for "when did
// the unregistered volume begin". Every tenant keeps only its last `ringMinutes` minutes in a small typed-array
// ring (a day of 10,000 tenants must fit in memory); a tenant that comes close to a threshold is promoted and
// keeps every minute from then on.
import type { MessageClass } from '../core/classify.js';

const SLOT = 4; // minute, unregistered, forwarded, total

export class MinuteHistory {
  readonly #ringMinutes: number;
  #ring: Int32Array | null = null;
  /** Once kept: [minute, unregistered, forwarded, total] per minute with messages, in minute order. */
  #kept: number[] | null = null;

  constructor(ringMinutes: number) {
    this.#ringMinutes = ringMinutes;
  }

  get kept(): boolean {
    return this.#kept !== null;
  }

  record(minute: number, messageClass: MessageClass): void {
    const kept = this.#kept;
    if (kept !== null) {
      // Late events (within the grace period) land a few minutes back: search from the end.
      let at = kept.length - SLOT;
      while (at >= 0 && kept[at]! > minute) at -= SLOT;
      if (at < 0 || kept[at] !== minute) {
        kept.splice(at + SLOT, 0, minute, 0, 0, 0);
        at += SLOT;
      }
      add(kept, at, messageClass);
      return;
    }
    this.#ring ??= new Int32Array(this.#ringMinutes * SLOT);
    const ring = this.#ring;
    const at = (minute % this.#ringMinutes) * SLOT;
    if (ring[at] !== minute) {
      ring[at] = minute;
      ring[at + 1] = 0;
      ring[at + 2] = 0;
      ring[at + 3] = 0;
    }
    add(ring, at, messageClass);
  }

  /** From now on keep every minute; the ring's minutes (up to `newest`) are kept too. */
  keep(newest: number): void {
    if (this.#kept !== null) return;
    const kept: number[] = [];
    const ring = this.#ring;
    if (ring !== null) {
      for (let minute = newest - this.#ringMinutes + 1; minute <= newest; minute++) {
        const at = (minute % this.#ringMinutes) * SLOT;
        if (ring[at] === minute) kept.push(minute, ring[at + 1]!, ring[at + 2]!, ring[at + 3]!);
      }
    }
    this.#kept = kept;
    this.#ring = null;
  }

  /** First and last minute kept, or null. */
  keptSpan(): { first: number; last: number } | null {
    const kept = this.#kept;
    if (kept === null || kept.length === 0) return null;
    return { first: kept[0]!, last: kept[kept.length - SLOT]! };
  }

  /** U's per-minute part for each minute from `from` to `to`: unregistered plus weighted forwarded messages. */
  perMinute(from: number, to: number, forwardedWeight: number): number[] {
    const values = new Array<number>(to - from + 1).fill(0);
    const kept = this.#kept ?? [];
    for (let at = 0; at < kept.length; at += SLOT) {
      const minute = kept[at]!;
      if (minute >= from && minute <= to)
        values[minute - from] = kept[at + 1]! + forwardedWeight * kept[at + 2]!;
    }
    return values;
  }

  /**
   * U in the sliding window at the end of each minute from `from` to `to`: the unregistered messages of the
   * `windowMinutes` minutes ending with it (plus weighted forwarded ones), as the scorer counts them.
   */
  slidingUnregistered(from: number, to: number, windowMinutes: number, forwardedWeight: number): number[] {
    const perMinute = this.perMinute(from - windowMinutes + 1, to, forwardedWeight);
    const values: number[] = [];
    let sum = 0;
    for (let i = 0; i < perMinute.length; i++) {
      sum += perMinute[i]!;
      if (i >= windowMinutes) sum -= perMinute[i - windowMinutes]!;
      if (i >= windowMinutes - 1) values.push(sum);
    }
    return values;
  }
}

function add(counts: Int32Array | number[], at: number, messageClass: MessageClass): void {
  counts[at + 3]!++;
  if (messageClass === 'unregistered') counts[at + 1]!++;
  else if (messageClass === 'forwarded') counts[at + 2]!++;
}

/** Quiet minutes a burst may contain and still be one burst (spam tools send in waves). */
const BURST_GAP_MINUTES = 10;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * When the unregistered volume behind a decision began. `perMinute` holds U's per-minute part for the two
 * windows ending with the decision's minute (its last element). A tenant's usual rate is the smaller median of
 * the two windows (a steady trickle of legitimate unregistered mail is not the start of anything); a minute is
 * elevated when it is well above that (twice, plus three messages); the volume began with the earliest elevated
 * minute of the burst that ends at the decision, a burst allowing short quiet gaps. When no minute stands out
 * (volume that grew slowly), it began with the decision's window.
 */
export function volumeBeganMinute(
  perMinute: readonly number[],
  decided: number,
  windowMinutes: number,
): number {
  const first = decided - perMinute.length + 1;
  const split = Math.max(perMinute.length - windowMinutes, 0);
  const usual = Math.min(median(perMinute.slice(0, split)), median(perMinute.slice(split)));
  const elevated = 2 * usual + 3;
  let began: number | null = null;
  let quiet = 0;
  for (let i = perMinute.length - 1; i >= 0 && quiet <= BURST_GAP_MINUTES; i--) {
    if (perMinute[i]! >= elevated) {
      began = first + i;
      quiet = 0;
    } else quiet++;
  }
  return began ?? decided - windowMinutes + 1;
}
