// Strings interned into one arena, for the indexes that hold millions of names (enforcer-index.ts): each distinct
// string gets a number, and its characters are bytes in pages of one big buffer instead of a string object each
// (a JavaScript string costs 16-24 bytes of header and padding before its characters, a Map entry ~40 more, and
// a Map holds at most 2^24 entries). Looked up by open addressing in an Int32Array. A string with a character
// above U+00FF (never a normalized domain; a tenant id may be) is kept in a Map beside: exact, and rare.
//
// Numbers are never given back: a name removed from every index keeps its bytes until the process restarts.

const PAGE_BYTES = 1 << 22;
const MAX_LOAD = 0.7;

/** A typed array that grows by half its length: a tenth of the slack of doubling, at a few more copies. */
export class Growable<T extends Uint8Array | Int32Array | Float64Array> {
  #array: T;
  readonly #make: (length: number) => T;

  constructor(make: (length: number) => T, length = 1024) {
    this.#make = make;
    this.#array = make(length);
  }

  get array(): T {
    return this.#array;
  }

  /** Makes index `at` addressable; new room is zero-filled. */
  reserve(at: number): T {
    if (at < this.#array.length) return this.#array;
    const bigger = this.#make(Math.max(at + 1, Math.ceil(this.#array.length * 1.5)));
    bigger.set(this.#array as never);
    this.#array = bigger;
    return bigger;
  }

  get bytes(): number {
    return this.#array.byteLength;
  }
}

export class StringTable {
  readonly #pages: Uint8Array[] = [];
  #used = PAGE_BYTES;
  /** Per number: where its bytes start (page × PAGE_BYTES + offset) and how many. */
  readonly #starts = new Growable((n) => new Float64Array(n));
  readonly #lengths = new Growable((n) => new Int32Array(n));
  /** Number + 1 per slot, 0 when free. */
  #slots = new Int32Array(1 << 10);
  #count = 0;
  readonly #wide = new Map<string, number>();
  readonly #wideText = new Map<number, string>();

  get size(): number {
    return this.#count;
  }

  /** The number of this string, if it has one. */
  find(text: string): number | undefined {
    if (isWide(text)) return this.#wide.get(text);
    const mask = this.#slots.length - 1;
    for (let slot = hashOf(text) & mask; ; slot = (slot + 1) & mask) {
      const held = this.#slots[slot]!;
      if (held === 0) return undefined;
      if (this.#equals(held - 1, text)) return held - 1;
    }
  }

  /** The number of this string, given one if it has none. */
  intern(text: string): number {
    const found = this.find(text);
    if (found !== undefined) return found;
    const id = this.#count++;
    if (isWide(text)) {
      this.#wide.set(text, id);
      this.#wideText.set(id, text);
      this.#lengths.reserve(id)[id] = -1;
      return id;
    }
    this.#store(id, text);
    if (this.#count > this.#slots.length * MAX_LOAD) this.#rehash(this.#slots.length * 2);
    else this.#place(id, hashOf(text));
    return id;
  }

  /** The string numbered `id`. */
  text(id: number): string {
    const wide = this.#wideText.get(id);
    if (wide !== undefined) return wide;
    const start = this.#starts.array[id]!;
    const page = this.#pages[Math.floor(start / PAGE_BYTES)]!;
    const offset = start % PAGE_BYTES;
    return String.fromCharCode(...page.subarray(offset, offset + this.#lengths.array[id]!));
  }

  /** Bytes held in typed arrays (outside the JavaScript heap's objects). */
  get bytes(): number {
    return (
      this.#pages.reduce((sum, page) => sum + page.byteLength, 0) +
      this.#starts.bytes +
      this.#lengths.bytes +
      this.#slots.byteLength
    );
  }

  #store(id: number, text: string): void {
    if (this.#used + text.length > PAGE_BYTES) {
      this.#pages.push(new Uint8Array(Math.max(PAGE_BYTES, text.length)));
      this.#used = 0;
    }
    const pageNo = this.#pages.length - 1;
    const page = this.#pages[pageNo]!;
    for (let i = 0; i < text.length; i++) page[this.#used + i] = text.charCodeAt(i);
    this.#starts.reserve(id)[id] = pageNo * PAGE_BYTES + this.#used;
    this.#lengths.reserve(id)[id] = text.length;
    this.#used += text.length;
  }

  #equals(id: number, text: string): boolean {
    const length = this.#lengths.array[id]!;
    if (length !== text.length) return false;
    const start = this.#starts.array[id]!;
    const page = this.#pages[Math.floor(start / PAGE_BYTES)]!;
    const offset = start % PAGE_BYTES;
    for (let i = 0; i < length; i++) if (page[offset + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  #place(id: number, hash: number): void {
    const mask = this.#slots.length - 1;
    let slot = hash & mask;
    while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
    this.#slots[slot] = id + 1;
  }

  #rehash(size: number): void {
    this.#slots = new Int32Array(size);
    for (let id = 0; id < this.#count; id++) {
      const length = this.#lengths.array[id]!;
      if (length === -1) continue;
      const start = this.#starts.array[id]!;
      const page = this.#pages[Math.floor(start / PAGE_BYTES)]!;
      const offset = start % PAGE_BYTES;
      this.#place(id, hashOf(page.subarray(offset, offset + length)));
    }
  }
}

function isWide(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return true;
  return false;
}

/** FNV-1a over the characters (of a narrow string, or its stored bytes: the same codes). */
function hashOf(text: string | Uint8Array): number {
  let hash = 0x811c9dc5;
  if (typeof text === 'string') {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  } else {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text[i]!, 0x01000193);
  }
  return hash >>> 0;
}
