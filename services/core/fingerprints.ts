// What a tenant's window remembers of the events it counted recently: a 64-bit hash of each event id with the
// event's minute, so that the same event published again (at another log position) is known. One table per
// window, open addressing over plain arrays of numbers (V8 keeps them unboxed; small typed arrays cost far more
// to allocate and collect): checking and adding an event allocates nothing, and the entries stay in the order
// added, so a store can append the new ones to what it holds.
//
// Bounded whatever the tenant's rate: each minute remembers at most FINGERPRINTS_PER_MINUTE events. Beyond that a
// minute's further events are counted but not remembered, so a relay's republish of one of them is counted again
// (docs/guarantees.md, "Counted once"): a flood cannot take a scorer's heap, nor a save's size, with it.

/** Each entry: the hash's two halves and the event's minute (epoch minutes fit 32 bits for 8,000 years). */
export const ENTRY_WORDS = 3;
const INITIAL_ENTRIES = 8;
/** Up to this many entries a table is scanned, not indexed: most tenants send a few messages a minute. */
const SCANNED_ENTRIES = 16;
/** Expired entries are dropped (the rest moved down) once they are this many and at least half the table. */
const COMPACT_AFTER = 32;

/**
 * Events remembered per minute: 34 a second, far above a normal tenant's rate (the planning figure averages a few
 * a minute). A window holds at most this many for each of the grace period's minutes plus the newest: with the
 * default 5-minute grace, 12,288 entries, 147 KiB in Redis (12 bytes each) and ~0.5 MiB of heap with the index.
 */
export const FINGERPRINTS_PER_MINUTE = 2048;

const slotOf = (a: number, b: number, mask: number) => (a ^ Math.imul(b, 0x27d4eb2d)) & mask;

export class EventFingerprints {
  /** Entry i is words [3i, 3i + 3). Allocated at the first event: most windows of a batch see few. */
  #entries: number[] | null = null;
  /** Entries written, expired ones included. */
  #count = 0;
  /** The first entry not expired: entries arrive nearly in minute order, so expired ones are a prefix. */
  #start = 0;
  /** Open addressing (linear probing), at most half full: 1 + an entry's index, or 0. Null while scanned. */
  #slots: number[] | null = null;
  /** Bumped when entries move (a compaction): what a store holds of the old layout is no longer a prefix. */
  #generation = 0;
  /**
   * Entries remembered per minute not yet expired: a full minute remembers no more (FINGERPRINTS_PER_MINUTE). Null
   * until the table holds that many entries (no minute can be full before): most windows never need it.
   */
  #perMinute: Map<number, number> | null = null;

  /** Entries held, expired ones still in the table included. */
  get count(): number {
    return this.#count;
  }

  get generation(): number {
    return this.#generation;
  }

  /**
   * Adds the event; false when it is there already (the event was counted). True, without remembering it, when
   * its minute holds FINGERPRINTS_PER_MINUTE events already.
   */
  add(eventId: string, minute: number): boolean {
    // Two 32-bit multiply-xorshift lanes over the id's UTF-16 code units, in locals: no object per hash.
    let a = 0x9e3779b9 ^ eventId.length;
    let b = 0x85ebca6b ^ eventId.length;
    for (let i = 0; i < eventId.length; i++) {
      const code = eventId.charCodeAt(i);
      a = Math.imul(a ^ code, 0xcc9e2d51);
      b = Math.imul(b ^ code, 0x1b873593);
    }
    a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
    b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
    return this.#remember(a >>> 0, b >>> 0, minute);
  }

  /** Adds the entry unless its minute is full; false when it is there already. */
  #remember(a: number, b: number, minute: number): boolean {
    let slot = this.#find(a, b);
    if (slot >= 0) return false;
    if (this.#perMinute === null && this.#count - this.#start >= FINGERPRINTS_PER_MINUTE)
      this.#countPerMinute();
    if (this.#perMinute !== null) {
      const held = this.#perMinute.get(minute) ?? 0;
      if (held >= FINGERPRINTS_PER_MINUTE) return true;
      this.#perMinute.set(minute, held + 1);
    }
    if (this.#entries === null || this.#count * ENTRY_WORDS === this.#entries.length) {
      this.#grow();
      slot = this.#find(a, b);
    }
    this.#append(a, b, minute, -1 - slot);
    return true;
  }

  /**
   * Forgets the events of minutes before `oldest` (they would be late now). Entries are dropped from the front
   * while they are older; one that came late behind newer ones stays until they go too, which changes nothing:
   * an event of an expired minute is refused as late before it is looked up.
   */
  expire(oldest: number): void {
    const entries = this.#entries;
    if (this.#perMinute !== null)
      for (const minute of this.#perMinute.keys()) if (minute < oldest) this.#perMinute.delete(minute);
    if (entries === null) return;
    while (this.#start < this.#count && entries[this.#start * ENTRY_WORDS + 2]! < oldest) this.#start++;
    if (this.#start >= COMPACT_AFTER && this.#start * 2 >= this.#count) this.#rebuild(entries.length);
  }

  /** Entries `from` to the end, flat ([a, b, minute, ...]), as a store appends them or writes them afresh. */
  entries(from = 0): number[] {
    return this.#entries?.slice(from * ENTRY_WORDS, this.#count * ENTRY_WORDS) ?? [];
  }

  /**
   * Adds entries given flat (as `entries` returns them), in order, skipping any already here, and those of a
   * full minute (a table saved before the bound loads bounded).
   */
  addEntries(words: ArrayLike<number>): void {
    for (let i = 0; i + ENTRY_WORDS <= words.length; i += ENTRY_WORDS)
      this.#remember(words[i]! >>> 0, words[i + 1]! >>> 0, words[i + 2]! >>> 0);
  }

  /** The same entries, expired ones included (they go at the copy's next expiry), as a store would load them. */
  clone(): EventFingerprints {
    const copy = new EventFingerprints();
    copy.addEntries(this.entries());
    return copy;
  }

  /**
   * Slot of [a, b], or -1 - the empty slot where it would go. A scanned table answers 0 (found) or -1 (not).
   */
  #find(a: number, b: number): number {
    const slots = this.#slots;
    const entries = this.#entries;
    if (entries === null) return -1;
    if (slots === null) {
      for (let at = 0; at < this.#count * ENTRY_WORDS; at += ENTRY_WORDS)
        if (entries[at] === a && entries[at + 1] === b) return 0;
      return -1;
    }
    const mask = slots.length - 1;
    for (let slot = slotOf(a, b, mask); ; slot = (slot + 1) & mask) {
      const entry = slots[slot]!;
      if (entry === 0) return -1 - slot;
      const at = (entry - 1) * ENTRY_WORDS;
      if (entries[at] === a && entries[at + 1] === b) return slot;
    }
  }

  #countPerMinute(): void {
    const entries = this.#entries!;
    const perMinute = new Map<number, number>();
    for (let at = this.#start * ENTRY_WORDS + 2; at < this.#count * ENTRY_WORDS; at += ENTRY_WORDS)
      perMinute.set(entries[at]!, (perMinute.get(entries[at]!) ?? 0) + 1);
    this.#perMinute = perMinute;
  }

  #append(a: number, b: number, minute: number, slot: number): void {
    const entries = this.#entries!;
    const at = this.#count * ENTRY_WORDS;
    entries[at] = a;
    entries[at + 1] = b;
    entries[at + 2] = minute;
    this.#count++;
    if (this.#slots !== null) this.#slots[slot] = this.#count;
  }

  /** Room for more: expired entries dropped if they are half the table, else the table doubled. */
  #grow(): void {
    const entries = this.#entries;
    if (entries === null) this.#rebuild(INITIAL_ENTRIES * ENTRY_WORDS);
    else this.#rebuild(this.#start * 2 >= this.#count ? entries.length : entries.length * 2);
  }

  /**
   * Moves the live entries to the front of a table of `words` and indexes them again. A table of the same size is
   * compacted in place: a tenant that keeps a few events live at a time reuses its arrays as its entries expire.
   */
  #rebuild(words: number): void {
    const old = this.#entries;
    const entries = old !== null && old.length === words ? old : new Array<number>(words).fill(0);
    if (old !== null) {
      let to = 0;
      for (let i = this.#start * ENTRY_WORDS; i < this.#count * ENTRY_WORDS; i++, to++) entries[to] = old[i]!;
      if (entries === old) entries.fill(0, to);
    }
    if (this.#start > 0) this.#generation++;
    this.#count -= this.#start;
    this.#start = 0;
    this.#entries = entries;
    if (words / ENTRY_WORDS <= SCANNED_ENTRIES) {
      this.#slots = null;
      return;
    }
    const size = (2 * words) / ENTRY_WORDS;
    const slots = this.#slots?.length === size ? this.#slots.fill(0) : new Array<number>(size).fill(0);
    const mask = slots.length - 1;
    for (let i = 0; i < this.#count; i++) {
      let slot = slotOf(entries[i * ENTRY_WORDS]!, entries[i * ENTRY_WORDS + 1]!, mask);
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    this.#slots = slots;
  }
}
