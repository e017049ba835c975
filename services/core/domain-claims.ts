// Which tenant a domain counts as registered to, in one hashed lookup (classification asks once per suffix of
// every sender domain): per domain, the entries that can count. Those are the verified claims, earliest
// verification first, the first owning the domain; then the entries accepted before relayguard verified domains
// (legacy), which count only while nobody has verified the domain: an upgrade must not turn every tenant's own
// mail into unregistered volume and block it. Pending entries never count and are not here.
//
// Two verified claims on one domain exist only when two tenants proved control of it (a domain that changed hands,
// or two admin replicas racing): the earliest wins wherever and in whatever order the compacted topic is replayed,
// because the winner depends on the claims only, never on arrival order. Nearly every domain has one holder, held
// as the tenant's entry itself (no array, no claim object: millions of domains).
//
// The table is open addressing over a hash that a sender domain's suffixes share one pass of: the characters are
// hashed from the last to the first, so walking the name backwards yields the hash of each parent domain at its
// label boundary. The check of `mail.eu.acme.example` probes `example`, `acme.example`, ... without cutting a
// string out per suffix (a fresh string, hashed again by a Map at its first lookup): it allocates nothing.
import { type AcceptedDomain, isLegacyDomain } from './tenant-record.js';

type Holders = AcceptedDomain | readonly AcceptedDomain[];

const list = (holders: Holders | undefined): readonly AcceptedDomain[] =>
  holders === undefined ? [] : Array.isArray(holders) ? holders : [holders as AcceptedDomain];

const nameOf = (holders: Holders): string =>
  Array.isArray(holders) ? holders[0]!.domain : (holders as AcceptedDomain).domain;

const DOT = 0x2e;
const INITIAL_SLOTS = 1 << 10;
/** Grown past this share of slots used: a miss (most probes of a walk) then reads ~3 neighbouring hashes. */
const MAX_LOAD = 0.6;

/** One character into a suffix hash (FNV-1a, fed from the name's end). */
const hashStep = (hash: number, code: number) => Math.imul(hash ^ code, 0x01000193);
const HASH_SEED = 0x811c9dc5 | 0;

/** The slot hash of a suffix's running hash: mixed so that the low bits index well, never 0 (an empty slot). */
function finish(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) | 0 || 1;
}

function hashOf(domain: string): number {
  let hash = HASH_SEED;
  for (let i = domain.length - 1; i >= 0; i--) hash = hashStep(hash, domain.charCodeAt(i));
  return finish(hash);
}

export class DomainClaims {
  /** Per slot: the domain's hash (0: empty) and its holders. Linear probing, backward-shift deletion. */
  #hashes = new Int32Array(INITIAL_SLOTS);
  #holders: (Holders | undefined)[] = new Array(INITIAL_SLOTS).fill(undefined);
  #size = 0;
  /** Whether a claim not held here outranks an entry found (a scorer's directory slice, directory-slice.ts). */
  readonly #outranked: ((entry: AcceptedDomain) => boolean) | undefined;

  constructor(outranked?: (entry: AcceptedDomain) => boolean) {
    this.#outranked = outranked;
  }

  /**
   * The tenant's entry for exactly this domain when it counts as registered: verified and owned by this tenant
   * (no other tenant verified it earlier), or legacy while no tenant verified the domain.
   */
  registered(tenantId: string, domain: string): AcceptedDomain | undefined {
    return this.#registeredAt(tenantId, domain, 0, hashOf(domain));
  }

  /**
   * Whether `domain` counts as registered to the tenant: its own entry, or one of a parent domain that matches
   * subdomains (classify.ts, isRegistered). One backward pass over the name, no string made.
   */
  isRegistered(tenantId: string, domain: string): boolean {
    let hash = HASH_SEED;
    for (let from = domain.length - 1; from >= 0; from--) {
      hash = hashStep(hash, domain.charCodeAt(from));
      if (from > 0 && domain.charCodeAt(from - 1) !== DOT) continue;
      const entry = this.#registeredAt(tenantId, domain, from, finish(hash));
      if (entry !== undefined && (from === 0 || entry.matchSubdomains)) return true;
    }
    return false;
  }

  /** Replaces the tenant's entry for the domain by `entry` (none when undefined). */
  change(tenantId: string, domain: string, entry: AcceptedDomain | undefined): void {
    const hash = hashOf(domain);
    const slot = this.#slotOf(domain, 0, hash);
    const rest = list(this.#holders[slot]).filter((other) => other.tenantId !== tenantId);
    if (entry?.verification || (entry && isLegacyDomain(entry))) {
      const at = rest.findIndex((other) => holdsBefore(entry, other));
      rest.splice(at === -1 ? rest.length : at, 0, entry);
    }
    if (rest.length > 0) this.#set(slot, hash, rest.length === 1 ? rest[0]! : rest);
    else if (this.#hashes[slot] !== 0) this.#remove(slot);
  }

  /**
   * Another tenant's verified claim this domain would collide with: the same domain, a parent whose subdomains
   * it registered, or (when this claim takes subdomains) a verified domain below it. The downward check scans
   * every domain held, so it is for admin writes.
   */
  conflict(tenantId: string, domain: string, matchSubdomains: boolean): string | undefined {
    const other = (holders: Holders | undefined, covering: boolean) =>
      list(holders).some(
        (entry) =>
          entry.verification !== null && entry.tenantId !== tenantId && (!covering || entry.matchSubdomains),
      );
    if (other(this.#held(domain), false)) return domain;
    for (let dot = domain.indexOf('.'); dot !== -1; dot = domain.indexOf('.', dot + 1)) {
      const parent = domain.slice(dot + 1);
      if (other(this.#held(parent), true)) return parent;
    }
    if (!matchSubdomains) return undefined;
    const suffix = `.${domain}`;
    for (const holders of this.#holders) {
      if (holders !== undefined && nameOf(holders).endsWith(suffix) && other(holders, false))
        return nameOf(holders);
    }
    return undefined;
  }

  #held(domain: string): Holders | undefined {
    return this.#holders[this.#slotOf(domain, 0, hashOf(domain))];
  }

  /** What `registered` says of the name `domain` from index `from` on, whose hash is `hash`. */
  #registeredAt(tenantId: string, domain: string, from: number, hash: number): AcceptedDomain | undefined {
    const entry = this.#heldAt(tenantId, domain, from, hash);
    return entry !== undefined && this.#outranked?.(entry) ? undefined : entry;
  }

  /** The entry the claims held here make registered. */
  #heldAt(tenantId: string, domain: string, from: number, hash: number): AcceptedDomain | undefined {
    const holders = this.#holders[this.#slotOf(domain, from, hash)];
    if (holders === undefined) return undefined;
    if (!Array.isArray(holders)) {
      const entry = holders as AcceptedDomain;
      return entry.tenantId === tenantId ? entry : undefined;
    }
    const first = holders[0]!;
    if (first.verification) return first.tenantId === tenantId ? first : undefined;
    for (const entry of holders) if (entry.tenantId === tenantId) return entry;
    return undefined;
  }

  /** The slot holding the name `domain` from `from` on, or the empty slot where it would go. */
  #slotOf(domain: string, from: number, hash: number): number {
    const hashes = this.#hashes;
    const mask = hashes.length - 1;
    const length = domain.length - from;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = hashes[slot]!;
      if (held === 0) return slot;
      if (held !== hash) continue;
      const name = nameOf(this.#holders[slot]!);
      if (name.length === length && domain.startsWith(name, from)) return slot;
    }
  }

  #set(slot: number, hash: number, holders: Holders): void {
    if (this.#hashes[slot] === 0) {
      if (this.#size + 1 > this.#hashes.length * MAX_LOAD) {
        this.#rehash(this.#hashes.length * 2);
        slot = this.#slotOf(nameOf(holders), 0, hash);
      }
      this.#size++;
      this.#hashes[slot] = hash;
    }
    this.#holders[slot] = holders;
  }

  /** Empties the slot and moves back the entries after it that probing would no longer reach. */
  #remove(slot: number): void {
    const hashes = this.#hashes;
    const holders = this.#holders;
    const mask = hashes.length - 1;
    let hole = slot;
    for (let next = (slot + 1) & mask; hashes[next] !== 0; next = (next + 1) & mask) {
      const home = hashes[next]! & mask;
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        hashes[hole] = hashes[next]!;
        holders[hole] = holders[next];
        hole = next;
      }
    }
    hashes[hole] = 0;
    holders[hole] = undefined;
    this.#size--;
  }

  #rehash(slots: number): void {
    const [hashes, holders] = [this.#hashes, this.#holders];
    this.#hashes = new Int32Array(slots);
    this.#holders = new Array(slots).fill(undefined);
    const mask = slots - 1;
    for (let i = 0; i < hashes.length; i++) {
      if (hashes[i] === 0) continue;
      let slot = hashes[i]! & mask;
      while (this.#hashes[slot] !== 0) slot = (slot + 1) & mask;
      this.#hashes[slot] = hashes[i]!;
      this.#holders[slot] = holders[i];
    }
  }
}

/**
 * Verified entries first, the earlier verification owning the domain (equal times fall to the tenant id, so every
 * replica agrees); legacy ones after, by tenant id.
 */
function holdsBefore(a: AcceptedDomain, b: AcceptedDomain): boolean {
  if (a.verification && b.verification) {
    const [at, bt] = [a.verification.verifiedAt, b.verification.verifiedAt];
    if (at !== bt) return at < bt;
  } else if (a.verification || b.verification) {
    return a.verification !== null;
  }
  return a.tenantId < b.tenantId;
}
