// Who claims each identifier (a sender range or a certificate name), for the enforcer's connectors
// (connector-table.ts): a hash multimap from an identifier, coded as a small code and a 32-bit value, to the numbers
// of the connectors claiming it, in three typed arrays. A Map of arrays costs ~100 B per identifier and holds at
// most 2^24 entries; this costs 9 B per slot, and most identifiers have one claimant.
//
// Open addressing with linear probing; a removal shifts the entries after it back, so no deleted marker lingers.

import type { SnapshotParts } from './snapshot-parts.js';

const MAX_LOAD = 0.7;

export class ClaimTable {
  /** Per slot: the identifier's code (0: the slot is free), its value, and the claiming connector's number. */
  #codes = new Uint8Array(1 << 10);
  #values = new Int32Array(1 << 10);
  #claimants = new Int32Array(1 << 10);
  #count = 0;

  add(code: number, value: number, claimant: number): void {
    if (this.#count + 1 > this.#codes.length * MAX_LOAD) this.#resize(this.#codes.length * 2);
    this.#place(code, value, claimant);
    this.#count++;
  }

  remove(code: number, value: number, claimant: number): void {
    const mask = this.#codes.length - 1;
    let hole = hashOf(code, value) & mask;
    while (!this.#holds(hole, code, value) || this.#claimants[hole] !== claimant) {
      if (this.#codes[hole] === 0) return;
      hole = (hole + 1) & mask;
    }
    // Moves back every entry of the run after the hole that may live there (its home is not between them).
    for (let at = (hole + 1) & mask; this.#codes[at] !== 0; at = (at + 1) & mask) {
      const home = hashOf(this.#codes[at]!, this.#values[at]!) & mask;
      const homeBetween = hole < at ? home > hole && home <= at : home > hole || home <= at;
      if (homeBetween) continue;
      this.#codes[hole] = this.#codes[at]!;
      this.#values[hole] = this.#values[at]!;
      this.#claimants[hole] = this.#claimants[at]!;
      hole = at;
    }
    this.#codes[hole] = 0;
    this.#count--;
  }

  /** The connectors claiming the identifier, in no order. */
  claimants(code: number, value: number): number[] {
    const found: number[] = [];
    const mask = this.#codes.length - 1;
    for (let at = hashOf(code, value) & mask; this.#codes[at] !== 0; at = (at + 1) & mask) {
      if (this.#holds(at, code, value)) found.push(this.#claimants[at]!);
    }
    return found;
  }

  get bytes(): number {
    return this.#codes.byteLength + this.#values.byteLength + this.#claimants.byteLength;
  }

  saveTo(parts: SnapshotParts, name: string): void {
    parts.arrays.set(`${name}.codes`, this.#codes.slice());
    parts.arrays.set(`${name}.values`, this.#values.slice());
    parts.arrays.set(`${name}.claimants`, this.#claimants.slice());
    parts.values.set(name, this.#count);
  }

  loadFrom(parts: SnapshotParts, name: string): void {
    this.#codes = parts.array(`${name}.codes`, Uint8Array);
    this.#values = parts.array(`${name}.values`, Int32Array);
    this.#claimants = parts.array(`${name}.claimants`, Int32Array);
    this.#count = parts.value<number>(name);
  }

  #holds(at: number, code: number, value: number): boolean {
    return this.#codes[at] === code && this.#values[at] === value;
  }

  #place(code: number, value: number, claimant: number): void {
    const mask = this.#codes.length - 1;
    let at = hashOf(code, value) & mask;
    while (this.#codes[at] !== 0) at = (at + 1) & mask;
    this.#codes[at] = code;
    this.#values[at] = value;
    this.#claimants[at] = claimant;
  }

  #resize(size: number): void {
    const [codes, values, claimants] = [this.#codes, this.#values, this.#claimants];
    this.#codes = new Uint8Array(size);
    this.#values = new Int32Array(size);
    this.#claimants = new Int32Array(size);
    for (let at = 0; at < codes.length; at++) {
      if (codes[at] !== 0) this.#place(codes[at]!, values[at]!, claimants[at]!);
    }
  }
}

/** Murmur3's finalizer over the code and value: neighbouring ranges (a /28 per tenant) spread over the table. */
function hashOf(code: number, value: number): number {
  let hash = value ^ Math.imul(code, 0x9e3779b1);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
