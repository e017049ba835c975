// A window's per-minute counters: a ring of slots in typed arrays, each holding one minute's unregistered,
// forwarded and total counts, so that counting a message writes three numbers and allocates nothing. A minute's
// slot is its number modulo the ring's size (a power of two, at least the window): minutes a window holds never
// share a slot. Emptied slots are zeroed, so two rings that hold the same minutes hold the same arrays.

export interface Bucket {
  /** Unregistered messages on ONPREM and APPLICATION paths. */
  readonly unregistered: number;
  /** Unregistered messages on the FORWARDED path. */
  readonly forwarded: number;
  /** Every message, every class and path. */
  readonly total: number;
}

/** Enough for the default 60-minute window and its grace: most rings never grow. */
const INITIAL_SLOTS = 64;
const EMPTY = -1;

export class MinuteCounts {
  /** The minute each slot holds (epoch minutes), EMPTY when it holds none. */
  minutes: Int32Array = new Int32Array(INITIAL_SLOTS).fill(EMPTY);
  /** Per slot: unregistered, forwarded, total. */
  counts: Uint32Array = new Uint32Array(3 * INITIAL_SLOTS);
  /** Slots that hold a minute. */
  size = 0;

  /** The slot of `minute`, taken (zeroed) if it has none; the ring grows when an older minute still holds it. */
  slot(minute: number): number {
    let mask = this.minutes.length - 1;
    let slot = minute & mask;
    let held = this.minutes[slot]!;
    if (held === minute) return slot;
    if (held !== EMPTY) {
      this.#grow(Math.max(minute, held) - Math.min(minute, held) + 1);
      mask = this.minutes.length - 1;
      slot = minute & mask;
      held = this.minutes[slot]!;
      if (held === minute) return slot;
    }
    this.minutes[slot] = minute;
    this.size++;
    return slot;
  }

  /** Counts one message into `slot`: every message is in total, and in at most one of the other two. */
  count(slot: number, unregistered: boolean, forwarded: boolean): void {
    const at = 3 * slot;
    if (unregistered) this.counts[at]!++;
    if (forwarded) this.counts[at + 1]!++;
    this.counts[at + 2]!++;
  }

  /** The minute's counts, or undefined when it has none (a copy: for reads off the hot path). */
  get(minute: number): Bucket | undefined {
    const slot = minute & (this.minutes.length - 1);
    return this.minutes[slot] === minute ? this.#bucket(slot) : undefined;
  }

  has(minute: number): boolean {
    return this.minutes[minute & (this.minutes.length - 1)] === minute;
  }

  /** Sets a minute's counts (a store loading a window); zero counts remove it. */
  set(minute: number, bucket: Bucket): void {
    if (bucket.total === 0) {
      this.delete(minute);
      return;
    }
    const at = 3 * this.slot(minute);
    this.counts[at] = bucket.unregistered;
    this.counts[at + 1] = bucket.forwarded;
    this.counts[at + 2] = bucket.total;
  }

  /** Removes the minute; its counts, for the caller's sums, or undefined when it had none. */
  delete(minute: number): Bucket | undefined {
    const slot = minute & (this.minutes.length - 1);
    if (this.minutes[slot] !== minute) return undefined;
    const removed = this.#bucket(slot);
    this.minutes[slot] = EMPTY;
    this.counts.fill(0, 3 * slot, 3 * slot + 3);
    this.size--;
    return removed;
  }

  /** The minutes held, in slot order (not time order). */
  *keys(): IterableIterator<number> {
    for (const minute of this.minutes) if (minute !== EMPTY) yield minute;
  }

  *entries(): IterableIterator<[number, Bucket]> {
    for (let slot = 0; slot < this.minutes.length; slot++)
      if (this.minutes[slot] !== EMPTY) yield [this.minutes[slot]!, this.#bucket(slot)];
  }

  *values(): IterableIterator<Bucket> {
    for (const [, bucket] of this.entries()) yield bucket;
  }

  [Symbol.iterator](): IterableIterator<[number, Bucket]> {
    return this.entries();
  }

  clone(): MinuteCounts {
    const copy = new MinuteCounts();
    copy.minutes = this.minutes.slice();
    copy.counts = this.counts.slice();
    copy.size = this.size;
    return copy;
  }

  #bucket(slot: number): Bucket {
    const at = 3 * slot;
    return { unregistered: this.counts[at]!, forwarded: this.counts[at + 1]!, total: this.counts[at + 2]! };
  }

  /** Doubles the ring until it spans `span` minutes, every minute moved to its new slot. */
  #grow(span: number): void {
    let slots = this.minutes.length * 2;
    while (slots < span) slots *= 2;
    const { minutes, counts } = this;
    this.minutes = new Int32Array(slots).fill(EMPTY);
    this.counts = new Uint32Array(3 * slots);
    for (let old = 0; old < minutes.length; old++) {
      const minute = minutes[old]!;
      if (minute === EMPTY) continue;
      const slot = minute & (slots - 1);
      this.minutes[slot] = minute;
      this.counts.set(counts.subarray(3 * old, 3 * old + 3), 3 * slot);
    }
  }
}
