// CIDR parsing and a longest-prefix-match index over many ranges: a lookup costs one map probe per prefix
// length in use (at most 33 for IPv4, 129 for IPv6), whatever the number of ranges. Every enforcer holds a range
// per connector of every tenant (a million and more), so the index stores no string per IPv4 range.
import ipaddr from 'ipaddr.js';
import { printable } from './domain-name.js';
import { RelayguardError } from './errors.js';

export interface IpRange {
  readonly family: 'ipv4' | 'ipv6';
  readonly prefix: number;
  /** Normalized text form, e.g. 192.0.2.0/24 or 2001:db8::/32. */
  readonly cidr: string;
  /** The network within its family and prefix length: IPv4 as a 32-bit integer, IPv6 as its 16 bytes. */
  readonly key: number | string;
}

function bytesOf(address: ipaddr.IPv4 | ipaddr.IPv6): number[] {
  // An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the IPv4 address: Postfix reports either form.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address().toByteArray();
  }
  return address.toByteArray();
}

/**
 * An IPv4 network as a signed 32-bit integer (a small integer to V8: a map key without an allocation), an IPv6
 * one as a 16-character string of its bytes, built in one call so that it is flat, not a chain of concatenations.
 */
export function maskedKey(bytes: readonly number[], prefix: number): number | string {
  if (bytes.length === 4) {
    const address = (bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!;
    return prefix === 0 ? 0 : address & (-1 << (32 - prefix));
  }
  return String.fromCharCode(...maskedBytes(bytes, prefix));
}

/**
 * A CIDR range, normalized. An IPv4-mapped IPv6 range (::ffff:192.0.2.0/120) is its IPv4 range, as addresses are
 * looked up in IPv4 form. With `strict` (input from people), a range with host bits set is refused with the
 * normalized range in the message, rather than silently widened (10.0.0.1/8 is not 10.0.0.1).
 */
export function parseIpRange(
  input: string,
  field = 'senderIpRanges',
  options: { strict?: boolean } = {},
): IpRange {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = input.includes('/') ? ipaddr.parseCIDR(input.trim()) : single(input.trim());
  } catch {
    throw new RelayguardError(
      'INVALID_ADDRESS',
      `${field}: "${printable(input)}" is not a CIDR range like 192.0.2.0/24 or 2001:db8::/32`,
      { field },
    );
  }
  let [address, prefix] = parsed;
  if (address.kind() === 'ipv6' && prefix >= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    prefix -= 96;
  }
  const bytes = address.toByteArray();
  const family = bytes.length === 4 ? 'ipv4' : 'ipv6';
  const network = ipaddr.fromByteArray(maskedBytes(bytes, prefix));
  const cidr = `${network.toString()}/${prefix}`;
  if (options.strict && network.toString() !== address.toString()) {
    throw new RelayguardError(
      'INVALID_ADDRESS',
      `${field}: "${printable(input)}" has host bits set; the range it names is ${cidr}`,
      { field },
    );
  }
  return { family, prefix, cidr, key: maskedKey(bytes, prefix) };
}

/** Whether one range contains the other (or they are the same): CIDR ranges either nest or are disjoint. */
export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  if (a.family !== b.family) return false;
  const [wide, narrow] = a.prefix <= b.prefix ? [a, b] : [b, a];
  return reMasked(narrow.key, wide.prefix) === wide.key;
}

/** A range's key masked to a shorter prefix of its family. */
function reMasked(key: number | string, prefix: number): number | string {
  if (typeof key === 'number') return prefix === 0 ? 0 : key & (-1 << (32 - prefix));
  return maskedKey(
    Array.from(key, (char) => char.charCodeAt(0)),
    prefix,
  );
}

function single(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const address = ipaddr.parse(text);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

function maskedBytes(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((byte, i) => {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    return bits === 0 ? 0 : byte & (0xff << (8 - bits)) & 0xff;
  });
}

/**
 * Dotted decimal without leading zeros, the form Postfix reports: read here, as every relay request resolves its
 * client by address. Anything else (IPv6, octal or hex parts, out of range) is left to ipaddr.js.
 */
function plainIpv4(text: string): number[] | undefined {
  const bytes = [0, 0, 0, 0];
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x2e) {
      if (digits === 0 || part === 3) return undefined;
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else if (code >= 0x30 && code <= 0x39 && !(digits > 0 && value === 0)) {
      value = value * 10 + code - 0x30;
      digits++;
      if (value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (part !== 3 || digits === 0) return undefined;
  bytes[3] = value;
  return bytes;
}

export function parseIpAddress(input: string, field = 'clientAddress'): number[] {
  const text = input.trim();
  const plain = plainIpv4(text);
  if (plain) return plain;
  try {
    return bytesOf(ipaddr.parse(text));
  } catch {
    throw new RelayguardError('INVALID_ADDRESS', `${field}: "${printable(input)}" is not an IP address`, {
      field,
    });
  }
}

export class IpRangeIndex<T> {
  /** Per family, one map per prefix length in use, and those lengths longest first. */
  readonly #families = { ipv4: new PrefixMaps<T>(), ipv6: new PrefixMaps<T>() };

  set(range: IpRange, value: T): void {
    this.#families[range.family].set(range.prefix, range.key, value);
  }

  get(range: IpRange): T | undefined {
    return this.#families[range.family].get(range.prefix, range.key);
  }

  delete(range: IpRange): void {
    this.#families[range.family].delete(range.prefix, range.key);
  }

  /** The value of the most specific range containing the address. */
  lookup(addressBytes: readonly number[]): T | undefined {
    const family = this.#families[addressBytes.length === 4 ? 'ipv4' : 'ipv6'];
    for (const prefix of family.longestFirst) {
      const hit = family.get(prefix, maskedKey(addressBytes, prefix));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }

  /** The values of every range containing the address, most specific first. */
  covering(addressBytes: readonly number[]): T[] {
    const family = this.#families[addressBytes.length === 4 ? 'ipv4' : 'ipv6'];
    const found: T[] = [];
    for (const prefix of family.longestFirst) {
      const hit = family.get(prefix, maskedKey(addressBytes, prefix));
      if (hit !== undefined) found.push(hit);
    }
    return found;
  }

  /**
   * The values of every range that overlaps this one: the same, containing or contained. Ranges inside it are
   * found by a scan of the longer prefixes, so this is for writes (an admin claim), not for relay lookups.
   */
  overlapping(range: IpRange): T[] {
    const family = this.#families[range.family];
    const found: T[] = [];
    for (const prefix of family.longestFirst) {
      if (prefix <= range.prefix) {
        const hit = family.get(prefix, reMasked(range.key, prefix));
        if (hit !== undefined) found.push(hit);
      } else {
        for (const [key, value] of family.entries(prefix)) {
          if (reMasked(key, range.prefix) === range.key) found.push(value);
        }
      }
    }
    return found;
  }
}

class PrefixMaps<T> {
  readonly #byPrefix = new Map<number, Map<number | string, T>>();
  /** Recomputed when a prefix length comes into use or goes out of it, not per lookup. */
  #longestFirst: readonly number[] = [];

  get longestFirst(): readonly number[] {
    return this.#longestFirst;
  }

  get(prefix: number, key: number | string): T | undefined {
    return this.#byPrefix.get(prefix)?.get(key);
  }

  entries(prefix: number): Iterable<[number | string, T]> {
    return this.#byPrefix.get(prefix) ?? [];
  }

  set(prefix: number, key: number | string, value: T): void {
    let networks = this.#byPrefix.get(prefix);
    if (!networks) {
      networks = new Map();
      this.#byPrefix.set(prefix, networks);
      this.#sortPrefixes();
    }
    networks.set(key, value);
  }

  delete(prefix: number, key: number | string): void {
    const networks = this.#byPrefix.get(prefix);
    if (!networks?.delete(key) || networks.size > 0) return;
    this.#byPrefix.delete(prefix);
    this.#sortPrefixes();
  }

  #sortPrefixes(): void {
    this.#longestFirst = [...this.#byPrefix.keys()].sort((a, b) => b - a);
  }
}
