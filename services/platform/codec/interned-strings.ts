// One string per distinct value of the fields whose values repeat from event to event (tenant ids, sender domains,
// connector ids): the field reader looks an ASCII value's bytes up here instead of making a fresh string of
// them. A hit allocates nothing, and the string it returns has its hash computed already, so the directory's and
// the windows' Map lookups of it do not hash it again. A hit is decided by comparing every byte with the string
// held, never by the hash alone: a lookup returns exactly the string those bytes decode to, or nothing.

/** Node's Buffer method under toString('utf8'): present on every Buffer, though not in its typings. */
export type Utf8Slicing = Buffer & { utf8Slice(start: number, end: number): string };

const INITIAL_SLOTS = 1 << 10;
/** Strings held at most; past it the table starts afresh (a working set that large interns nothing worth it). */
export const MAX_INTERNED = 1 << 16;
/** Longer values are not interned: repeated values (ids, domain names) are short. */
export const MAX_INTERNED_BYTES = 96;
const MAX_LOAD = 0.5;

/**
 * A hash of the bytes [from, to), four at a time (a multiply per word), mixed so that the low bits index well; never
 * 0 (an empty slot) nor -1, which says a byte is not ASCII.
 */
export function asciiHash(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5 ^ (to - from);
  let high = 0;
  let i = from;
  for (; i + 4 <= to; i += 4) {
    const word = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    high |= word;
    hash = Math.imul(hash ^ word, 0x01000193) ^ (hash >>> 15);
  }
  for (; i < to; i++) {
    high |= bytes[i]!;
    hash = Math.imul(hash ^ bytes[i]!, 0x01000193) ^ (hash >>> 15);
  }
  if (high & 0x80808080) return -1;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash = (hash ^ (hash >>> 16)) | 0;
  return hash === 0 || hash === -1 ? 1 : hash;
}

/** Whether `text` is the ASCII bytes [from, from + text.length) exactly. */
function sameText(text: string, bytes: Uint8Array, from: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== bytes[from + i]) return false;
  return true;
}

export class InternedStrings {
  readonly #maxSize: number;
  /** Per slot: the string's hash (0: empty) and the string. Linear probing; strings are never removed one by one. */
  #hashes = new Int32Array(INITIAL_SLOTS);
  #strings: (string | undefined)[] = new Array(INITIAL_SLOTS).fill(undefined);
  #size = 0;

  /** `maxSize` only for tests: a small table starts afresh often. */
  constructor(maxSize = MAX_INTERNED) {
    this.#maxSize = maxSize;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * The string the bytes [from, to) decode to, the same instance for the same bytes; undefined when they are not
   * ASCII or too long to intern (the caller decodes them itself).
   */
  of(bytes: Buffer, from: number, to: number): string | undefined {
    const length = to - from;
    if (length > MAX_INTERNED_BYTES) return undefined;
    const hash = asciiHash(bytes, from, to);
    if (hash === -1) return undefined;
    const hashes = this.#hashes;
    const mask = hashes.length - 1;
    for (let slot = hash & mask; hashes[slot] !== 0; slot = (slot + 1) & mask) {
      if (hashes[slot] !== hash) continue;
      const held = this.#strings[slot]!;
      if (held.length === length && sameText(held, bytes, from)) return held;
    }
    const text = (bytes as Utf8Slicing).utf8Slice(from, to);
    if (this.#size >= this.#maxSize) {
      this.#reset(INITIAL_SLOTS);
    } else if (this.#size + 1 > hashes.length * MAX_LOAD) {
      const strings = this.#strings;
      this.#reset(hashes.length * 2);
      for (let i = 0; i < hashes.length; i++) if (hashes[i] !== 0) this.#put(hashes[i]!, strings[i]!);
    }
    this.#put(hash, text);
    return text;
  }

  #put(hash: number, text: string): void {
    const slot = this.#emptySlot(hash);
    this.#hashes[slot] = hash;
    this.#strings[slot] = text;
    this.#size++;
  }

  #emptySlot(hash: number): number {
    const mask = this.#hashes.length - 1;
    let slot = hash & mask;
    while (this.#hashes[slot] !== 0) slot = (slot + 1) & mask;
    return slot;
  }

  #reset(slots: number): void {
    this.#hashes = new Int32Array(slots);
    this.#strings = new Array(slots).fill(undefined);
    this.#size = 0;
  }
}
