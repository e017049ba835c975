// Who holds which accepted domain, compactly: each name as bytes in an arena (string-table.ts) and its one holder as a
// few typed-array cells, not an entry object, verification object and Map entry per domain. The holders of a domain
// are ordered as domain-claims.ts orders them (verified first, earliest verification, then by tenant id), so the
// first verified holder owns the domain. The enforcer's index (enforcer-index.ts) holds every verified and legacy
// entry here; a scorer's directory slice (directory-slice.ts) every verified one, to know which domains another
// tenant owns.
import type { AcceptedDomainChanged } from './contracts.generated.js';
import type { SnapshotParts } from './snapshot-parts.js';
import { Growable, type StringTable } from './string-table.js';
import { NONE } from './tenant-record.js';

export const MATCH_SUBDOMAINS = 1;
export const VERIFIED = 2;
export const LEGACY = 4;

/** A holder of a domain: a tenant's verified or legacy entry. */
export interface Holder {
  /** The tenant's number in the table of tenant names. */
  readonly tenant: number;
  readonly flags: number;
  readonly verifiedAt: number;
}

/** How an accepted-domain change holds its domain: 0 when it holds nothing (removed, or pending verification). */
export function holdingOf(event: AcceptedDomainChanged): number {
  const { verification } = event;
  // As isLegacyDomain: accepted before verification existed. Pending entries never count: not held.
  const flags =
    event.change === 'REMOVED' ? 0 : verification ? VERIFIED : event.verificationToken === '' ? LEGACY : 0;
  return flags && flags | (event.matchSubdomains ? MATCH_SUBDOMAINS : 0);
}

export class DomainHolders {
  readonly #tenantNames: StringTable;
  readonly #domainNames: StringTable;
  /** Per domain number, its one holder: tenant number + 1 (0: none), flags, verification time. */
  readonly #holderTenant = new Growable((n) => new Int32Array(n));
  readonly #holderFlags = new Growable((n) => new Uint8Array(n));
  readonly #holderVerifiedAt = new Growable((n) => new Float64Array(n));
  /** Domains held by more than one tenant (two verifications, or legacy entries), earliest verification first. */
  readonly #sharedDomains = new Map<number, readonly Holder[]>();

  /** Tenant names may be shared with another table of the same owner (the enforcer's connectors). */
  constructor(tenantNames: StringTable, domainNames: StringTable) {
    this.#tenantNames = tenantNames;
    this.#domainNames = domainNames;
  }

  /** Replaces the tenant's holding of the domain (none when `flags` is 0). */
  set(tenantId: string, domain: string, flags: number, verifiedAt: number): void {
    const tenant = flags === 0 ? this.#tenantNames.find(tenantId) : this.#tenantNames.intern(tenantId);
    const number = flags === 0 ? this.#domainNames.find(domain) : this.#domainNames.intern(domain);
    if (tenant === undefined || number === undefined) return;
    const rest = this.holders(number).filter((holder) => holder.tenant !== tenant);
    if (flags !== 0) {
      const holder = { tenant, flags, verifiedAt };
      const at = rest.findIndex((other) => this.#holdsBefore(holder, other));
      rest.splice(at === -1 ? rest.length : at, 0, holder);
    }
    const only = rest.length === 1 ? rest[0]! : undefined;
    this.#holderTenant.reserve(number)[number] = only ? only.tenant + 1 : 0;
    this.#holderFlags.reserve(number)[number] = only?.flags ?? 0;
    this.#holderVerifiedAt.reserve(number)[number] = only?.verifiedAt ?? 0;
    if (rest.length > 1) this.#sharedDomains.set(number, rest);
    else this.#sharedDomains.delete(number);
  }

  /** The holders of the domain numbered `number`, in order. */
  holders(number: number): readonly Holder[] {
    const shared = this.#sharedDomains.get(number);
    if (shared) return shared;
    const tenant = (this.#holderTenant.array[number] ?? 0) - 1;
    if (tenant < 0) return NONE;
    return [
      { tenant, flags: this.#holderFlags.array[number]!, verifiedAt: this.#holderVerifiedAt.array[number]! },
    ];
  }

  /** The tenant named `tenantId` holds the domain and counts as registered for it: its holder, if so. */
  registered(tenantId: string, domain: string): Holder | undefined {
    const number = this.#domainNames.find(domain);
    const tenant = this.#tenantNames.find(tenantId);
    if (number === undefined || tenant === undefined) return undefined;
    const holders = this.holders(number);
    const owner = holders[0];
    if (owner && owner.flags & VERIFIED) return owner.tenant === tenant ? owner : undefined;
    return holders.find((h) => h.tenant === tenant);
  }

  /** Another tenant than `tenantId` verified the domain first: it owns the domain. */
  ownedByAnother(tenantId: string, domain: string): boolean {
    const number = this.#domainNames.find(domain);
    const owner = number === undefined ? undefined : this.holders(number)[0];
    return (
      owner !== undefined &&
      (owner.flags & VERIFIED) !== 0 &&
      this.#tenantNames.text(owner.tenant) !== tenantId
    );
  }

  get bytes(): number {
    return this.#arrays().reduce((sum, [, growable]) => sum + growable.bytes, 0);
  }

  /** Gives back the arrays' unused room (enforcer-index.ts `trim`). */
  trim(): void {
    for (const [, growable] of this.#arrays()) growable.trim();
  }

  saveTo(parts: SnapshotParts): void {
    for (const [name, growable] of this.#arrays()) growable.saveTo(parts, name);
    parts.values.set('sharedDomains', [...this.#sharedDomains]);
  }

  loadFrom(parts: SnapshotParts): void {
    for (const [name, growable] of this.#arrays()) growable.loadFrom(parts, name);
    for (const [number, holders] of parts.value<[number, Holder[]][]>('sharedDomains'))
      this.#sharedDomains.set(number, holders);
  }

  #arrays(): [string, Growable<Uint8Array | Int32Array | Float64Array>][] {
    return [
      ['holderTenant', this.#holderTenant],
      ['holderFlags', this.#holderFlags],
      ['holderVerifiedAt', this.#holderVerifiedAt],
    ];
  }

  /** As domain-claims.ts orders them: verified first, earliest verification, then by tenant id. */
  #holdsBefore(a: Holder, b: Holder): boolean {
    const [av, bv] = [a.flags & VERIFIED, b.flags & VERIFIED];
    if (av && bv && a.verifiedAt !== b.verifiedAt) return a.verifiedAt < b.verifiedAt;
    if (av !== bv) return av !== 0;
    return this.#tenantNames.text(a.tenant) < this.#tenantNames.text(b.tenant);
  }
}
