// What an enforcer decides with, and no more: connectors by sender range and certificate name, the blocks, and who
// holds which accepted domain. The whole directory (directory.ts) keeps ~1 KB per tenant of records, arrays and
// entries for the admin API and the scorer; a decision reads a connector to learn the tenant, the tenant's block,
// and only for a blocked tenant its domains.
//
// Why every tenant's domains are still here: a block can arrive for any tenant, and its first answer must already
// accept the tenant's registered senders; the accepted-domains topic is compacted by tenant and domain, and offers no
// read of one tenant's records, so "loading them when the block arrives" would mean re-reading the topic (minutes
// at 10M tenants) while the tenant's own mail is refused. So the domains are held, but compactly: each name as bytes
// in an arena (string-table.ts) and its holder as a few typed-array cells, not an entry object, verification object
// and Map entry per domain. Records exist only for tenants with a block record; connectors are rows of typed arrays
// (connector-table.ts). Decisions are those of the whole directory (test/unit/core/enforcer-index.test.ts).

import { BlockStates } from './block-state.js';
import type { AcceptedDomainLookup } from './classify.js';
import { ConnectorTable, type IndexedClient, type IndexedConnector } from './connector-table.js';
import type { AcceptedDomainChanged } from './contracts.generated.js';
import type { DirectoryEvent } from './directory.js';
import { normalizeDomain } from './domain-name.js';
import { parseIpAddress } from './ip-ranges.js';
import { SnapshotParts } from './snapshot-parts.js';
import { Growable, StringTable } from './string-table.js';
import { type MutableRecord, NONE, recordIn, type TenantRecord } from './tenant-record.js';
import { parseStateKey } from './topics.js';

const MATCH_SUBDOMAINS = 1;
const VERIFIED = 2;
const LEGACY = 4;
/** What the accepted-domain check reads of a registered entry. */
const EXACT = Object.freeze({ matchSubdomains: false });
const WITH_SUBDOMAINS = Object.freeze({ matchSubdomains: true });

/** A holder of a domain: a tenant's verified or legacy entry. */
interface Holder {
  readonly tenant: number;
  readonly flags: number;
  readonly verifiedAt: number;
}

export class EnforcerIndex implements AcceptedDomainLookup {
  /**
   * What a snapshot holds: the accepted domains and connectors, the bulk of the index. Blocks are read again from
   * the start of their topic (a record per tenant ever blocked: a small topic), so block-state.ts stays the one
   * place that applies them.
   */
  static readonly SNAPSHOT_KINDS = ['accepted-domain', 'connector'] as const;

  /** An index as `snapshot` saved it; throws on parts of another format. */
  static fromSnapshot(parts: SnapshotParts): EnforcerIndex {
    const index = new EnforcerIndex();
    index.#tenantNames.loadFrom(parts, 'tenantNames');
    index.#domainNames.loadFrom(parts, 'domainNames');
    for (const [name, growable] of index.#holderArrays()) growable.loadFrom(parts, name);
    for (const [number, holders] of parts.value<[number, Holder[]][]>('sharedDomains'))
      index.#sharedDomains.set(number, holders);
    index.#connectors.loadFrom(parts, 'connectors');
    return index;
  }

  readonly #tenantNames = new StringTable();
  readonly #domainNames = new StringTable();
  /** Per domain number, its one holder: tenant number + 1 (0: none), flags, verification time. */
  readonly #holderTenant = new Growable((n) => new Int32Array(n));
  readonly #holderFlags = new Growable((n) => new Uint8Array(n));
  readonly #holderVerifiedAt = new Growable((n) => new Float64Array(n));
  /** Domains held by more than one tenant (two verifications, or legacy entries), earliest verification first. */
  readonly #sharedDomains = new Map<number, readonly Holder[]>();
  readonly #connectors = new ConnectorTable(this.#tenantNames);
  /** Records of the tenants with a tenant-blocks record only: a few percent of them. */
  readonly #records = new Map<string, MutableRecord>();
  readonly #blocks = new BlockStates();

  apply(change: DirectoryEvent): void {
    if (change.kind === 'accepted-domain') this.#applyDomain(change.event);
    else if (change.kind === 'connector') {
      if (change.event.change === 'REMOVED')
        this.#connectors.remove(change.event.tenantId, change.event.connectorId);
      else this.#connectors.upsert(change.event);
    } else if (change.kind === 'tenant-block') {
      // What connectors carried at the block is for the admin API's self-service rule, not for decisions.
      this.#blocks.apply(this.#record(change.event.tenantId), change.event, () => null);
    }
    // Policy overrides are the scorer's.
  }

  /** A compaction tombstone of accepted-domains or connectors: the key's domain or connector is gone. */
  applyTombstone(kind: 'accepted-domain' | 'connector', key: string): void {
    const { tenantId, object } = parseStateKey(key);
    if (kind === 'accepted-domain') this.#setHolder(tenantId, object, 0, 0);
    else this.#connectors.remove(tenantId, object);
  }

  /** The tenant's block state; undefined for a tenant that never had a block record. */
  tenant(tenantId: string): TenantRecord | undefined {
    return this.#records.get(tenantId);
  }

  get blockedCount(): number {
    return this.#blocks.blockedCount;
  }

  get monitorBlockedCount(): number {
    return this.#blocks.monitorBlockedCount;
  }

  /** As `TenantDirectory.acceptedDomain` says it: what a registered entry of the tenant matches, if any. */
  acceptedDomain(tenantId: string, domain: string): { readonly matchSubdomains: boolean } | undefined {
    const number = this.#domainNames.find(domain);
    const tenant = this.#tenantNames.find(tenantId);
    if (number === undefined || tenant === undefined) return undefined;
    const holders = this.#holders(number);
    const owner = holders[0];
    const held =
      owner && owner.flags & VERIFIED
        ? owner.tenant === tenant
          ? owner
          : undefined
        : holders.find((h) => h.tenant === tenant);
    if (!held) return undefined;
    return held.flags & MATCH_SUBDOMAINS ? WITH_SUBDOMAINS : EXACT;
  }

  connector(tenantId: string, connectorId: string): IndexedConnector | undefined {
    return this.#connectors.connector(tenantId, connectorId);
  }

  resolveByAddress(address: string): IndexedClient | undefined {
    return this.#connectors.byAddress(parseIpAddress(address));
  }

  resolveByCertificate(certificateDomain: string): IndexedClient | undefined {
    return this.#connectors.byCertificate(normalizeDomain(certificateDomain, 'certificate'));
  }

  /** Bytes held in typed arrays: outside the heap's objects, so the heap figure alone would flatter the index. */
  get arenaBytes(): number {
    const holders = this.#holderArrays().reduce((sum, [, growable]) => sum + growable.bytes, 0);
    return this.#tenantNames.bytes + this.#domainNames.bytes + holders + this.#connectors.bytes;
  }

  /** The accepted domains and connectors (SNAPSHOT_KINDS) as they are now: copies, or bytes that never change. */
  snapshot(): SnapshotParts {
    const parts = new SnapshotParts();
    this.#tenantNames.saveTo(parts, 'tenantNames');
    this.#domainNames.saveTo(parts, 'domainNames');
    for (const [name, growable] of this.#holderArrays()) growable.saveTo(parts, name);
    parts.values.set('sharedDomains', [...this.#sharedDomains]);
    this.#connectors.saveTo(parts, 'connectors');
    return parts;
  }

  #holderArrays(): [string, Growable<Uint8Array | Int32Array | Float64Array>][] {
    return [
      ['holderTenant', this.#holderTenant],
      ['holderFlags', this.#holderFlags],
      ['holderVerifiedAt', this.#holderVerifiedAt],
    ];
  }

  #record(tenantId: string): MutableRecord {
    return recordIn(this.#records, tenantId);
  }

  #applyDomain(event: AcceptedDomainChanged): void {
    const { verification } = event;
    // As isLegacyDomain: accepted before verification existed. Pending entries never count: not held.
    const flags =
      event.change === 'REMOVED' ? 0 : verification ? VERIFIED : event.verificationToken === '' ? LEGACY : 0;
    const subdomains = event.matchSubdomains ? MATCH_SUBDOMAINS : 0;
    this.#setHolder(event.tenantId, event.domain, flags && flags | subdomains, verification?.verifiedAt ?? 0);
  }

  /** Replaces the tenant's holding of the domain (none when `flags` is 0). */
  #setHolder(tenantId: string, domain: string, flags: number, verifiedAt: number): void {
    const tenant = flags === 0 ? this.#tenantNames.find(tenantId) : this.#tenantNames.intern(tenantId);
    const number = flags === 0 ? this.#domainNames.find(domain) : this.#domainNames.intern(domain);
    if (tenant === undefined || number === undefined) return;
    const rest = this.#holders(number).filter((holder) => holder.tenant !== tenant);
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

  #holders(number: number): readonly Holder[] {
    const shared = this.#sharedDomains.get(number);
    if (shared) return shared;
    const tenant = (this.#holderTenant.array[number] ?? 0) - 1;
    if (tenant < 0) return NONE;
    return [
      { tenant, flags: this.#holderFlags.array[number]!, verifiedAt: this.#holderVerifiedAt.array[number]! },
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
