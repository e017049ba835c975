// A window's per-minute counters: a ring of slots in one typed array, each holding a minute and its unregistered,
// forwarded and total counts, so that counting a message writes three numbers and allocates nothing. A minute's
// slot is its number modulo the ring's size (a power of two, at least the window): minutes a window holds never
// share a slot. A slot holds its minute plus one, so an empty slot is all zeros: a new ring is as allocated, with
// nothing to fill, and two rings that hold the same minutes hold the same arrays.

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
/** Per slot: the minute it holds plus one (epoch minutes; EMPTY when none), then unregistered, forwarded, total. */
const WORDS = 4;
const EMPTY = 0;

/** What a removed minute's counts are taken from (a window's sums). */
export interface CountSums {
  unregistered: number;
  forwarded: number;
  total: number;
}

export class MinuteCounts {
  /**
   * Every slot's minute and counts side by side in one array: one allocation per window, and the minute a count
   * checks sits in the cache line of the counts it writes.
   */
  words: Int32Array = new Int32Array(WORDS * INITIAL_SLOTS);
  /** Slots that hold a minute. */
  size = 0;
  /**
   * No minute before it is held (while any is): a slide that passes only earlier minutes has nothing to remove and
   * leaves the array untouched. Private, so rings holding the same minutes stay deeply equal however they got them.
   */
  #floor = 0;

  /** Minutes the ring can hold at once (a power of two). */
  get capacity(): number {
    return this.words.length / WORDS;
  }

  /** The slot of `minute`, taken (zeroed) if it has none; the ring grows when an older minute still holds it. */
  slot(minute: number): number {
    let slot = minute & (this.capacity - 1);
    let held = this.words[WORDS * slot]!;
    if (held === minute + 1) return slot;
    if (held !== EMPTY) {
      this.#grow(Math.abs(minute + 1 - held) + 1);
      slot = minute & (this.capacity - 1);
      held = this.words[WORDS * slot]!;
      if (held === minute + 1) return slot;
    }
    this.words[WORDS * slot] = minute + 1;
    if (this.size === 0 || minute < this.#floor) this.#floor = minute;
    this.size++;
    return slot;
  }

  /** Counts one message into `slot`: every message is in total, and in at most one of the other two. */
  count(slot: number, unregistered: boolean, forwarded: boolean): void {
    const at = WORDS * slot;
    if (unregistered) this.words[at + 1]!++;
    if (forwarded) this.words[at + 2]!++;
    this.words[at + 3]!++;
  }

  /** The minute's counts, or undefined when it has none (a copy: for reads off the hot path). */
  get(minute: number): Bucket | undefined {
    const slot = this.#held(minute);
    return slot < 0 ? undefined : this.#bucket(slot);
  }

  has(minute: number): boolean {
    return this.#held(minute) >= 0;
  }

  /** Sets a minute's counts (a store loading a window); zero counts remove it. */
  set(minute: number, bucket: Bucket): void {
    if (bucket.total === 0) {
      this.delete(minute);
      return;
    }
    const at = WORDS * this.slot(minute);
    this.words[at + 1] = bucket.unregistered;
    this.words[at + 2] = bucket.forwarded;
    this.words[at + 3] = bucket.total;
  }

  /** Removes the minute; its counts, for the caller's sums, or undefined when it had none. */
  delete(minute: number): Bucket | undefined {
    const slot = this.#held(minute);
    if (slot < 0) return undefined;
    const removed = this.#bucket(slot);
    this.#clear(slot);
    return removed;
  }

  /**
   * Removes the minutes held from `from` up to `to` (not included), their counts taken from `sums` (no copy of them:
   * the window's slide); each one removed is added to `removed` when given. Whether any was. A range shorter than
   * the ring (the few minutes a slide passes) is looked up minute by minute, a longer one by a walk over the ring.
   */
  removeRange(from: number, to: number, sums: CountSums, removed?: Set<number>): boolean {
    if (this.size === 0 || to <= this.#floor) return false;
    const start = Math.max(from, this.#floor);
    // Every minute before `to` goes when the range starts at or below the floor.
    if (start === this.#floor) this.#floor = to;
    const words = this.words;
    let any = false;
    if (to - start < this.capacity) {
      for (let minute = start; minute < to; minute++) {
        const at = WORDS * (minute & (this.capacity - 1));
        if (words[at] !== minute + 1) continue;
        this.#subtract(at, sums);
        removed?.add(minute);
        any = true;
      }
      return any;
    }
    for (let at = 0; at < words.length; at += WORDS) {
      const minute = words[at]! - 1;
      if (words[at] === EMPTY || minute < from || minute >= to) continue;
      this.#subtract(at, sums);
      removed?.add(minute);
      any = true;
    }
    return any;
  }

  /** The minutes held, in slot order (not time order). */
  *keys(): IterableIterator<number> {
    for (let at = 0; at < this.words.length; at += WORDS)
      if (this.words[at] !== EMPTY) yield this.words[at]! - 1;
  }

  *entries(): IterableIterator<[number, Bucket]> {
    for (let slot = 0; slot < this.capacity; slot++)
      if (this.words[WORDS * slot] !== EMPTY) yield [this.words[WORDS * slot]! - 1, this.#bucket(slot)];
  }

  *values(): IterableIterator<Bucket> {
    for (const [, bucket] of this.entries()) yield bucket;
  }

  [Symbol.iterator](): IterableIterator<[number, Bucket]> {
    return this.entries();
  }

  clone(): MinuteCounts {
    const copy = new MinuteCounts();
    copy.words = this.words.slice();
    copy.size = this.size;
    copy.#floor = this.#floor;
    return copy;
  }

  /** The slot holding `minute`, or -1. */
  #held(minute: number): number {
    const slot = minute & (this.capacity - 1);
    return this.words[WORDS * slot] === minute + 1 ? slot : -1;
  }

  /** Empties the slot at word `at`, its counts taken from `sums`. */
  #subtract(at: number, sums: CountSums): void {
    sums.unregistered -= this.words[at + 1]!;
    sums.forwarded -= this.words[at + 2]!;
    sums.total -= this.words[at + 3]!;
    this.#clear(at / WORDS);
  }

  /** Empties the slot, zeroed: two rings that hold the same minutes hold the same array. */
  #clear(slot: number): void {
    const at = WORDS * slot;
    this.words[at] = EMPTY;
    this.words[at + 1] = 0;
    this.words[at + 2] = 0;
    this.words[at + 3] = 0;
    this.size--;
  }

  #bucket(slot: number): Bucket {
    const at = WORDS * slot;
    return { unregistered: this.words[at + 1]!, forwarded: this.words[at + 2]!, total: this.words[at + 3]! };
  }

  /** Doubles the ring until it spans `span` minutes, every minute moved to its new slot. */
  #grow(span: number): void {
    let slots = this.capacity * 2;
    while (slots < span) slots *= 2;
    const old = this.words;
    this.words = new Int32Array(WORDS * slots);
    for (let from = 0; from < old.length; from += WORDS) {
      if (old[from] === EMPTY) continue;
      const minute = old[from]! - 1;
      this.words.set(old.subarray(from, from + WORDS), WORDS * (minute & (slots - 1)));
    }
  }
}
