// Strings interned into one arena, for the indexes that hold millions of names (enforcer-index.ts): each distinct
// string gets a number, and its characters are bytes in pages of one big buffer instead of a string object each
// (a JavaScript string costs 16-24 bytes of header and padding before its characters, a Map entry ~40 more, and
// a Map holds at most 2^24 entries). Looked up by open addressing in an Int32Array. A string with a character
// above U+00FF (never a normalized domain; a tenant id may be) is kept in a Map beside: exact, and rare.
//
// Numbers are never given back: a name removed from every index keeps its bytes until the process restarts. Strings
// are stored in the order of their numbers, so a string ends where the next one starts (or where its page's bytes
// end): no length is kept per string.

import type { SnapshotParts } from './snapshot-parts.js';

const PAGE_BYTES = 1 << 22;
const MAX_LOAD = 0.7;

/**
 * A typed array that grows by an eighth of its length (at least 1,024 cells), so at most an eighth of it is ever
 * unused, at ~8 copies of each cell over a load from empty (growing by half left up to a third unused: ~160 MB at
 * 10M tenants). `trim` gives back the unused room once the owner has caught up; a later write grows it again.
 */
export class Growable<T extends Uint8Array | Int32Array | Uint32Array | Float64Array> {
  #array: T;
  /** One past the highest index reserved: what a trim keeps and a snapshot saves. */
  #end = 0;
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
    if (at >= this.#end) this.#end = at + 1;
    if (at < this.#array.length) return this.#array;
    const length = this.#array.length;
    const bigger = this.#make(Math.max(at + 1, length + Math.max(length >> 3, 1024)));
    bigger.set(this.#array as never);
    this.#array = bigger;
    return bigger;
  }

  /** Drops the room beyond the highest index reserved. */
  trim(): void {
    if (this.#array.length > this.#end) this.#array = this.#array.slice(0, this.#end) as T;
  }

  get bytes(): number {
    return this.#array.byteLength;
  }

  saveTo(parts: SnapshotParts, name: string): void {
    parts.arrays.set(name, this.#array.slice(0, this.#end));
  }

  loadFrom(parts: SnapshotParts, name: string): void {
    this.#array = parts.array(name, this.#array.constructor as never);
    this.#end = this.#array.length;
  }
}

export class StringTable {
  readonly #pages: Uint8Array[] = [];
  /** Per page, where its bytes end (as a position: page × PAGE_BYTES + offset). */
  readonly #pageEnds: number[] = [];
  #used = PAGE_BYTES;
  /** Per number: where its bytes start (page × PAGE_BYTES + offset). Up to 4 GiB of characters. */
  readonly #starts = new Growable((n) => new Uint32Array(n));
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
      // No bytes: it starts and ends where the next string starts.
      this.#starts.reserve(id)[id] = this.#position();
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
    return String.fromCharCode(...this.#bytesOf(id));
  }

  /** Bytes held in typed arrays (outside the JavaScript heap's objects). */
  get bytes(): number {
    return (
      this.#pages.reduce((sum, page) => sum + page.byteLength, 0) +
      this.#starts.bytes +
      this.#slots.byteLength
    );
  }

  /** Gives back what is unused of the last page and of the numbers' starts; a later string grows them again. */
  trim(): void {
    const last = this.#pages.length - 1;
    if (last >= 0 && this.#pages[last]!.length > this.#used)
      this.#pages[last] = this.#pages[last]!.slice(0, this.#used);
    this.#starts.trim();
  }

  /** Full pages are saved as they are: their bytes never change. Of the last one, what is used. */
  saveTo(parts: SnapshotParts, name: string): void {
    for (const [i, page] of this.#pages.entries()) {
      parts.arrays.set(`${name}.page${i}`, i === this.#pages.length - 1 ? page.slice(0, this.#used) : page);
    }
    this.#starts.saveTo(parts, `${name}.starts`);
    parts.arrays.set(`${name}.slots`, this.#slots.slice());
    parts.values.set(name, {
      count: this.#count,
      used: this.#used,
      pageEnds: this.#pageEnds,
      wide: [...this.#wide],
    });
  }

  /** Into an empty table. */
  loadFrom(parts: SnapshotParts, name: string): void {
    const saved = parts.value<{ count: number; used: number; pageEnds: number[]; wide: [string, number][] }>(
      name,
    );
    saved.pageEnds.forEach((end, i) => {
      this.#pages.push(parts.array(`${name}.page${i}`, Uint8Array));
      this.#pageEnds.push(end);
    });
    this.#starts.loadFrom(parts, `${name}.starts`);
    this.#slots = parts.array(`${name}.slots`, Int32Array);
    this.#count = saved.count;
    this.#used = saved.used;
    for (const [text, id] of saved.wide) {
      this.#wide.set(text, id);
      this.#wideText.set(id, text);
    }
  }

  #position(): number {
    return this.#pages.length === 0 ? 0 : (this.#pages.length - 1) * PAGE_BYTES + this.#used;
  }

  #store(id: number, text: string): void {
    if (this.#used + text.length > PAGE_BYTES) {
      this.#pages.push(new Uint8Array(Math.max(PAGE_BYTES, text.length)));
      this.#pageEnds.push(0);
      this.#used = 0;
    }
    const pageNo = this.#pages.length - 1;
    let page = this.#pages[pageNo]!;
    if (this.#used + text.length > page.length) {
      // A trimmed (or loaded) last page takes its whole room again.
      page = new Uint8Array(PAGE_BYTES);
      page.set(this.#pages[pageNo]!);
      this.#pages[pageNo] = page;
    }
    for (let i = 0; i < text.length; i++) page[this.#used + i] = text.charCodeAt(i);
    const start = pageNo * PAGE_BYTES + this.#used;
    if (start + text.length > 0xffff_ffff)
      throw new RangeError('string table: more than 4 GiB of characters');
    this.#starts.reserve(id)[id] = start;
    this.#used += text.length;
    this.#pageEnds[pageNo] = start + text.length;
  }

  /** The stored bytes of a narrow string: up to the next string's start, or its page's end. */
  #bytesOf(id: number): Uint8Array {
    const start = this.#starts.array[id]!;
    const pageNo = Math.floor(start / PAGE_BYTES);
    const next = id + 1 < this.#count ? this.#starts.array[id + 1]! : this.#position();
    const end = Math.floor(next / PAGE_BYTES) === pageNo ? next : this.#pageEnds[pageNo]!;
    const offset = start - pageNo * PAGE_BYTES;
    return this.#pages[pageNo]!.subarray(offset, offset + end - start);
  }

  #equals(id: number, text: string): boolean {
    const bytes = this.#bytesOf(id);
    if (bytes.length !== text.length) return false;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
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
      if (!this.#wideText.has(id)) this.#place(id, hashOf(this.#bytesOf(id)));
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
