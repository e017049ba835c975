// CIDR parsing and a longest-prefix-match index over many ranges: a lookup costs one map probe per prefix
// length in use (at most 33 for IPv4, 129 for IPv6), whatever the number of ranges.
import ipaddr from 'ipaddr.js';
import { printable } from './domain-name.js';
import { RelayguardError } from './errors.js';

export interface IpRange {
  readonly family: 'ipv4' | 'ipv6';
  readonly prefix: number;
  /** Normalized text form, e.g. 192.0.2.0/24 or 2001:db8::/32. */
  readonly cidr: string;
  readonly key: string;
}

function bytesOf(address: ipaddr.IPv4 | ipaddr.IPv6): number[] {
  // An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is the IPv4 address: Postfix reports either form.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address().toByteArray();
  }
  return address.toByteArray();
}

function maskedKey(bytes: readonly number[], prefix: number): string {
  let key = `${bytes.length === 4 ? 4 : 6}/${prefix}/`;
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    const masked = bits === 0 ? 0 : bytes[i]! & (0xff << (8 - bits));
    key += masked.toString(16).padStart(2, '0');
  }
  return key;
}

export function parseIpRange(input: string, field = 'senderIpRanges'): IpRange {
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
  const [address, prefix] = parsed;
  const bytes = address.toByteArray();
  const family = bytes.length === 4 ? 'ipv4' : 'ipv6';
  const network = ipaddr.fromByteArray(maskedBytes(bytes, prefix));
  return { family, prefix, cidr: `${network.toString()}/${prefix}`, key: maskedKey(bytes, prefix) };
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

export function parseIpAddress(input: string, field = 'clientAddress'): number[] {
  try {
    return bytesOf(ipaddr.parse(input.trim()));
  } catch {
    throw new RelayguardError('INVALID_ADDRESS', `${field}: "${printable(input)}" is not an IP address`, {
      field,
    });
  }
}

export class IpRangeIndex<T> {
  readonly #entries = new Map<string, T>();
  readonly #prefixes = { 4: new Map<number, number>(), 6: new Map<number, number>() };

  set(range: IpRange, value: T): void {
    if (!this.#entries.has(range.key)) {
      const counts = this.#prefixes[range.family === 'ipv4' ? 4 : 6];
      counts.set(range.prefix, (counts.get(range.prefix) ?? 0) + 1);
    }
    this.#entries.set(range.key, value);
  }

  get(range: IpRange): T | undefined {
    return this.#entries.get(range.key);
  }

  delete(range: IpRange): void {
    if (!this.#entries.delete(range.key)) return;
    const counts = this.#prefixes[range.family === 'ipv4' ? 4 : 6];
    const left = (counts.get(range.prefix) ?? 1) - 1;
    if (left === 0) counts.delete(range.prefix);
    else counts.set(range.prefix, left);
  }

  /** The value of the most specific range containing the address. */
  lookup(addressBytes: readonly number[]): T | undefined {
    const counts = this.#prefixes[addressBytes.length === 4 ? 4 : 6];
    const prefixes = [...counts.keys()].sort((a, b) => b - a);
    for (const prefix of prefixes) {
      const hit = this.#entries.get(maskedKey(addressBytes, prefix));
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
}
