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
import { DomainHolders, holdingOf, MATCH_SUBDOMAINS } from './domain-holders.js';
import { normalizeDomain } from './domain-name.js';
import { parseIpAddress } from './ip-ranges.js';
import { SnapshotParts } from './snapshot-parts.js';
import { StringTable } from './string-table.js';
import { type ActiveBlock, type MutableRecord, recordIn, type TenantRecord } from './tenant-record.js';
import { parseStateKey } from './topics.js';

/** What the accepted-domain check reads of a registered entry. */
const EXACT = Object.freeze({ matchSubdomains: false });
const WITH_SUBDOMAINS = Object.freeze({ matchSubdomains: true });

/** A block as the index keeps it: without its evidence, which decisions never read. */
export type IndexedBlock = Omit<ActiveBlock, 'evidence'>;

/** A tenant's block state as the index keeps it. */
export interface IndexedRecord extends Omit<TenantRecord, 'block'> {
  readonly block: IndexedBlock | null;
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
    index.#domains.loadFrom(parts);
    index.#connectors.loadFrom(parts, 'connectors');
    return index;
  }

  readonly #tenantNames = new StringTable();
  readonly #domainNames = new StringTable();
  /** Each domain's verified and legacy holders (domain-holders.ts). */
  readonly #domains = new DomainHolders(this.#tenantNames, this.#domainNames);
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
      const record = this.#record(change.event.tenantId);
      this.#blocks.apply(record, change.event, () => null);
      // Nor is the evidence (top domains, thresholds, connectors: ~2 KB of decoded objects a block, most of the
      // index's heap objects at 1% of tenants blocked). block-state.ts reads none of it from the record.
      if (record.block && 'evidence' in record.block) {
        const { evidence: _, ...kept } = record.block;
        record.block = kept as ActiveBlock;
      }
    }
    // Policy overrides are the scorer's.
  }

  /** A compaction tombstone of accepted-domains or connectors: the key's domain or connector is gone. */
  applyTombstone(kind: 'accepted-domain' | 'connector', key: string): void {
    const { tenantId, object } = parseStateKey(key);
    if (kind === 'accepted-domain') this.#domains.set(tenantId, object, 0, 0);
    else this.#connectors.remove(tenantId, object);
  }

  /** The tenant's block state; undefined for a tenant that never had a block record. */
  tenant(tenantId: string): IndexedRecord | undefined {
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
    const held = this.#domains.registered(tenantId, domain);
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
    return this.#tenantNames.bytes + this.#domainNames.bytes + this.#domains.bytes + this.#connectors.bytes;
  }

  /**
   * Gives back the unused room of every array: once caught up with the topics, when the index stops growing fast.
   * A later record grows an array again, by an eighth (string-table.ts, Growable).
   */
  trim(): void {
    this.#tenantNames.trim();
    this.#domainNames.trim();
    this.#domains.trim();
    this.#connectors.trim();
  }

  /** The accepted domains and connectors (SNAPSHOT_KINDS) as they are now: copies, or bytes that never change. */
  snapshot(): SnapshotParts {
    const parts = new SnapshotParts();
    this.#tenantNames.saveTo(parts, 'tenantNames');
    this.#domainNames.saveTo(parts, 'domainNames');
    this.#domains.saveTo(parts);
    this.#connectors.saveTo(parts, 'connectors');
    return parts;
  }

  #record(tenantId: string): MutableRecord {
    return recordIn(this.#records, tenantId);
  }

  #applyDomain(event: AcceptedDomainChanged): void {
    this.#domains.set(event.tenantId, event.domain, holdingOf(event), event.verification?.verifiedAt ?? 0);
  }
}
