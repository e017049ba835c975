// The event fingerprints of one window minute: a 64-bit hash of each event id counted in it, so that the same
// event published again (at another log position) is known. Open addressing over typed arrays: checking and
// adding an event allocates nothing, and the fingerprints stay in the order added, so a store can append the
// new ones to what it holds.

/** Two 32-bit multiply-xorshift lanes over the id's UTF-16 code units, written here: no object per hash. */
let laneA = 0;
let laneB = 0;

function hashEventId(eventId: string): void {
  let a = 0x9e3779b9 ^ eventId.length;
  let b = 0x85ebca6b ^ eventId.length;
  for (let i = 0; i < eventId.length; i++) {
    const code = eventId.charCodeAt(i);
    a = Math.imul(a ^ code, 0xcc9e2d51);
    b = Math.imul(b ^ code, 0x1b873593);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  laneA = a >>> 0;
  laneB = b >>> 0;
}

const INITIAL_CAPACITY = 4;

export class Fingerprints {
  /** Fingerprint i is [pairs[2i], pairs[2i + 1]], in the order added. */
  #pairs: Uint32Array;
  #size = 0;
  /** Open addressing (linear probing), twice the pairs' capacity: 1 + the index of a fingerprint, or 0. */
  #slots: Uint32Array;

  constructor(capacity = INITIAL_CAPACITY) {
    let rounded = INITIAL_CAPACITY;
    while (rounded < capacity) rounded *= 2;
    this.#pairs = new Uint32Array(rounded * 2);
    this.#slots = new Uint32Array(rounded * 2);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds the event's fingerprint; false when it was there already (the event was counted). */
  add(eventId: string): boolean {
    hashEventId(eventId);
    return this.#add(laneA, laneB);
  }

  has(eventId: string): boolean {
    hashEventId(eventId);
    return this.#find(laneA, laneB) >= 0;
  }

  /** The 32-bit halves of fingerprints `from` (by order added) to the end, flat: [a, b, a, b, ...]. */
  halves(from = 0): Uint32Array {
    return this.#pairs.subarray(from * 2, this.#size * 2);
  }

  /** Adds fingerprints given as halves (as `halves` returns them), in order, skipping any already here. */
  addHalves(halves: ArrayLike<number>): void {
    for (let i = 0; i + 1 < halves.length; i += 2) this.#add(halves[i]! >>> 0, halves[i + 1]! >>> 0);
  }

  clone(): Fingerprints {
    const copy = new Fingerprints(this.#size);
    copy.addHalves(this.halves());
    return copy;
  }

  /** Slot of [a, b], or -1 - the empty slot where it would go. */
  #find(a: number, b: number): number {
    const mask = this.#slots.length - 1;
    for (let slot = (a ^ Math.imul(b, 0x27d4eb2d)) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.#slots[slot]!;
      if (entry === 0) return -1 - slot;
      const at = (entry - 1) * 2;
      if (this.#pairs[at] === a && this.#pairs[at + 1] === b) return slot;
    }
  }

  #add(a: number, b: number): boolean {
    let slot = this.#find(a, b);
    if (slot >= 0) return false;
    if (this.#size * 2 === this.#pairs.length) {
      this.#grow();
      slot = this.#find(a, b);
    }
    this.#pairs[this.#size * 2] = a;
    this.#pairs[this.#size * 2 + 1] = b;
    this.#size++;
    this.#slots[-1 - slot] = this.#size;
    return true;
  }

  /** Doubles both arrays; the slots are rebuilt (at most half full, so a probe ends soon). */
  #grow(): void {
    const pairs = new Uint32Array(this.#pairs.length * 2);
    pairs.set(this.#pairs);
    this.#pairs = pairs;
    this.#slots = new Uint32Array(this.#slots.length * 2);
    const mask = this.#slots.length - 1;
    for (let i = 0; i < this.#size; i++) {
      const a = pairs[i * 2]!;
      const b = pairs[i * 2 + 1]!;
      let slot = (a ^ Math.imul(b, 0x27d4eb2d)) & mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
      this.#slots[slot] = i + 1;
    }
  }
}
