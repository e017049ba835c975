// What a connector claims, as the enforcer's connector table (connector-table.ts) keys it: each sender range and
// certificate name as a code and a 32-bit value. An IPv4 range is its prefix length and network, an IPv6 range its
// prefix length and the number of its network's bytes in a string table, a certificate name its number in another.
// It counts the ranges of each prefix length, so an address is looked up only at the lengths in use.
import type { ConnectorChanged } from './contracts.generated.js';
import { maskedKey, parseIpRange } from './ip-ranges.js';
import type { SnapshotParts } from './snapshot-parts.js';
import { StringTable } from './string-table.js';

const IPV4 = 1;
const IPV6 = IPV4 + 33;
export const CERTIFICATE = IPV6 + 129;

export interface Identifier {
  readonly code: number;
  readonly value: number;
  /** Since when the connector claims it. */
  readonly since: number;
}

export class ConnectorIdentifiers {
  readonly #certificates = new StringTable();
  readonly #ipv6Networks = new StringTable();
  /** Per range code, how many claims use it; and the codes in use per family, longest prefix first. */
  readonly #rangesOfCode = new Int32Array(CERTIFICATE);
  #codesInUse = { ipv4: [] as number[], ipv6: [] as number[] };

  /** Every identifier the event claims, one claim each (a range listed twice: the last one's time). */
  of(event: ConnectorChanged): Identifier[] {
    const byKey = new Map<string, Identifier>();
    const claim = (code: number, value: number, text: string) => {
      byKey.delete(`${code}/${value}`);
      byKey.set(`${code}/${value}`, { code, value, since: event.identifiersSince[text] ?? event.createdAt });
    };
    for (const cidr of event.senderIpRanges) {
      const { family, prefix, key } = parseIpRange(cidr);
      if (family === 'ipv4') claim(IPV4 + prefix, key as number, cidr);
      else claim(IPV6 + prefix, this.#ipv6Networks.intern(key as string), cidr);
    }
    const certificate = event.tlsCertificateDomain;
    if (certificate) claim(CERTIFICATE, this.#certificates.intern(certificate), certificate);
    return [...byKey.values()];
  }

  /** The ranges in use that could contain the address, most specific first (some may have no claim). */
  covering(addressBytes: readonly number[]): { code: number; value: number }[] {
    const found: { code: number; value: number }[] = [];
    for (const code of addressBytes.length === 4 ? this.#codesInUse.ipv4 : this.#codesInUse.ipv6) {
      const value =
        code < IPV6
          ? (maskedKey(addressBytes, code - IPV4) as number)
          : this.#ipv6Networks.find(maskedKey(addressBytes, code - IPV6) as string);
      if (value !== undefined) found.push({ code, value });
    }
    return found;
  }

  /** The value of a certificate name someone claims or claimed. */
  certificate(name: string): number | undefined {
    return this.#certificates.find(name);
  }

  /** A claim on the identifier was added (1) or removed (-1). */
  count(code: number, by: 1 | -1): void {
    if (code === CERTIFICATE) return;
    this.#rangesOfCode[code]! += by;
    if (this.#rangesOfCode[code] === (by === 1 ? 1 : 0)) this.#codesInUse = this.#codesInUseNow();
  }

  get bytes(): number {
    return this.#certificates.bytes + this.#ipv6Networks.bytes + this.#rangesOfCode.byteLength;
  }

  trim(): void {
    this.#certificates.trim();
    this.#ipv6Networks.trim();
  }

  saveTo(parts: SnapshotParts, name: string): void {
    this.#certificates.saveTo(parts, `${name}.certificates`);
    this.#ipv6Networks.saveTo(parts, `${name}.ipv6Networks`);
    parts.arrays.set(`${name}.rangesOfCode`, this.#rangesOfCode.slice());
  }

  loadFrom(parts: SnapshotParts, name: string): void {
    this.#certificates.loadFrom(parts, `${name}.certificates`);
    this.#ipv6Networks.loadFrom(parts, `${name}.ipv6Networks`);
    this.#rangesOfCode.set(parts.array(`${name}.rangesOfCode`, Int32Array));
    this.#codesInUse = this.#codesInUseNow();
  }

  #codesInUseNow(): { ipv4: number[]; ipv6: number[] } {
    const inUse = (from: number, to: number) => {
      const codes: number[] = [];
      for (let at = to - 1; at >= from; at--) if (this.#rangesOfCode[at]! > 0) codes.push(at);
      return codes;
    };
    return { ipv4: inUse(IPV4, IPV6), ipv6: inUse(IPV6, CERTIFICATE) };
  }
}
