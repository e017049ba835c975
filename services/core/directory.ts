// The tenant directory: accepted domains, connectors, policy overrides and block state, materialized from the
// compacted topics. The scorer classifies with it, the enforcer decides with it, the admin API reads it. What it
// holds per tenant is in tenant-record.ts; who owns a domain in domain-claims.ts, a range or certificate in
// connector-claims.ts.

import { BlockStates, type StaleBlockLast } from './block-state.js';
import type { AcceptedDomainLookup } from './classify.js';
import { type ClaimConflict, ConnectorClaims } from './connector-claims.js';
import type {
  AcceptedDomainChanged,
  ConnectorChanged,
  TenantBlockEvent,
  TenantPolicyChanged,
} from './contracts.generated.js';
import { DomainClaims } from './domain-claims.js';
import { normalizeDomain } from './domain-name.js';
import { type IpRange, parseIpAddress } from './ip-ranges.js';
import { overridesFromEvent } from './policy.js';
import {
  type AcceptedDomain,
  type Connector,
  claimingFields,
  connectorIdOf,
  connectorSettingsKey,
  domainOf,
  findSorted,
  type MutableRecord,
  recordIn,
  sameSettings,
  type TenantRecord,
  withoutSorted,
  withSorted,
} from './tenant-record.js';
import { parseStateKey } from './topics.js';

export type {
  AcceptedDomain,
  ActiveBlock,
  Connector,
  LiftedBlock,
  TenantRecord,
} from './tenant-record.js';
export {
  connectorSettingsKey,
  enforcedBlock,
  isEnforcedBlock,
  isLegacyDomain,
  probationUntil,
} from './tenant-record.js';

export type DirectoryEvent =
  | { readonly kind: 'accepted-domain'; readonly event: AcceptedDomainChanged }
  | { readonly kind: 'connector'; readonly event: ConnectorChanged }
  | { readonly kind: 'tenant-policy'; readonly event: TenantPolicyChanged }
  | { readonly kind: 'tenant-block'; readonly event: TenantBlockEvent };

export interface ResolvedClient {
  readonly tenantId: string;
  readonly connector: Connector;
}

/** What scoring reads of a directory: the whole one, or a scorer's slice (directory-slice.ts). */
export type ScoringDirectory = Pick<
  TenantDirectory,
  'tenant' | 'acceptedDomain' | 'isRegistered' | 'connector' | 'staleBlocksLast'
>;

export interface DirectoryOptions {
  /**
   * Whether a claim this directory does not hold outranks an entry it holds: a scorer's slice holds some tenants
   * only, and another tenant may have verified their domain first (directory-slice.ts).
   */
  readonly outranked?: (entry: AcceptedDomain) => boolean;
}

export class TenantDirectory implements AcceptedDomainLookup {
  readonly #tenants = new Map<string, MutableRecord>();
  /** Who owns each sender range and certificate name (connector-claims.ts). */
  readonly #connectorClaims = new ConnectorClaims();
  /** Who owns each domain (domain-claims.ts). */
  readonly #domainClaims: DomainClaims;
  /**
   * Actor names, one copy each: a few operators and services create every connector, and each decoded event
   * carries its own copy of the name (at a million tenants, two copies each cost ~64 MB).
   */
  readonly #actors = new Map<string, string>();
  /** Blocks, unblocks and episodes (block-state.ts). */
  readonly #blocks = new BlockStates();

  constructor(options: DirectoryOptions = {}) {
    this.#domainClaims = new DomainClaims(options.outranked);
  }

  apply(change: DirectoryEvent): void {
    switch (change.kind) {
      case 'accepted-domain':
        this.#applyDomain(change.event);
        break;
      case 'connector':
        this.#applyConnector(change.event);
        break;
      case 'tenant-policy':
        this.#record(change.event.tenantId).policy = overridesFromEvent(change.event);
        break;
      case 'tenant-block':
        this.#applyBlock(change.event);
        break;
    }
  }

  /**
   * A compaction tombstone of accepted-domains or connectors (the key, no value): the key's domain or connector is
   * gone. Its REMOVED event was published first, but once the cleaner has run a reader may meet the tombstone alone,
   * after the object itself (it read the object before compaction removed the REMOVED event) or never having seen
   * the object (compaction removed both): either way the object must not be there after it.
   */
  applyTombstone(kind: 'accepted-domain' | 'connector', key: string): void {
    const { tenantId, object } = parseStateKey(key);
    const record = this.#tenants.get(tenantId);
    if (!record) return;
    if (kind === 'accepted-domain') this.#removeDomain(record, object);
    else this.#removeConnector(record, object);
  }

  /** Drops all the directory holds of the tenant: its records are read again before it is held again. */
  forget(tenantId: string): void {
    const record = this.#tenants.get(tenantId);
    if (!record) return;
    for (const { domain } of record.acceptedDomains) this.#domainClaims.change(tenantId, domain, undefined);
    for (const connector of record.connectors) this.#connectorClaims.remove(connector);
    this.#blocks.forget(record);
    this.#tenants.delete(tenantId);
  }

  tenant(tenantId: string): TenantRecord | undefined {
    return this.#tenants.get(tenantId);
  }

  /** Tenants with a record. */
  get size(): number {
    return this.#tenants.size;
  }

  tenants(): IterableIterator<TenantRecord> {
    return this.#tenants.values();
  }

  /** Each tenant whose latest record is a block every directory ignored, with its state to publish behind it. */
  staleBlocksLast(): StaleBlockLast[] {
    return this.#blocks.staleLast((tenantId) => this.#tenants.get(tenantId)!);
  }

  /** Tenants whose enforce-mode block is in force. */
  get blockedCount(): number {
    return this.#blocks.blockedCount;
  }

  /** Tenants in monitor mode whose latest block decision would have blocked them. */
  get monitorBlockedCount(): number {
    return this.#blocks.monitorBlockedCount;
  }

  /**
   * The tenant's registered entry for exactly this domain: verified and owned by this tenant, or legacy while
   * nobody verified it (`DomainClaims.registered`, one hashed lookup). What classification asks; `domainEntry` is
   * the entry whatever its state.
   */
  acceptedDomain(tenantId: string, domain: string): AcceptedDomain | undefined {
    return this.#domainClaims.registered(tenantId, domain);
  }

  /** Whether the domain counts as registered to the tenant (classify.ts): `DomainClaims.isRegistered`. */
  isRegistered(tenantId: string, domain: string): boolean {
    return this.#domainClaims.isRegistered(tenantId, domain);
  }

  /** The tenant's entry for this domain, pending or verified. */
  domainEntry(tenantId: string, domain: string): AcceptedDomain | undefined {
    const domains = this.#tenants.get(tenantId)?.acceptedDomains;
    if (!domains) return undefined;
    const at = findSorted(domains, domain, domainOf);
    return at < 0 ? undefined : domains[at];
  }

  /** Another tenant's verified claim this domain would collide with (`DomainClaims.conflict`): admin writes. */
  domainConflict(tenantId: string, domain: string, matchSubdomains: boolean): string | undefined {
    return this.#domainClaims.conflict(tenantId, domain, matchSubdomains);
  }

  connector(tenantId: string, connectorId: string): Connector | undefined {
    const connectors = this.#tenants.get(tenantId)?.connectors;
    if (!connectors) return undefined;
    const at = findSorted(connectors, connectorId, connectorIdOf);
    return at < 0 ? undefined : connectors[at];
  }

  /**
   * The connector that identifies a client at this address: the tenant of the earliest claim on a range
   * containing the address owns the address, and its most specific enabled connector there identifies it. A
   * later claim of another tenant inside or around that range (a race between admin replicas) identifies nothing.
   */
  resolveByAddress(address: string): ResolvedClient | undefined {
    const connector = this.#connectorClaims.byAddress(parseIpAddress(address));
    return connector && { tenantId: connector.tenantId, connector };
  }

  /** The connector identified by a TLS client certificate for this domain, when its owner is enabled. */
  resolveByCertificate(certificateDomain: string): ResolvedClient | undefined {
    const connector = this.#connectorClaims.byCertificate(normalizeDomain(certificateDomain, 'certificate'));
    return connector && { tenantId: connector.tenantId, connector };
  }

  /** What a connector claiming these identifiers would collide with (`ConnectorClaims.conflicts`): admin writes. */
  claimConflicts(
    tenantId: string,
    connectorId: string,
    ranges: readonly IpRange[],
    certificateDomain: string | null,
  ): ClaimConflict[] {
    return this.#connectorClaims.conflicts(tenantId, connectorId, ranges, certificateDomain);
  }

  #record(tenantId: string): MutableRecord {
    return recordIn(this.#tenants, tenantId);
  }

  #applyDomain(event: AcceptedDomainChanged): void {
    const record = this.#record(event.tenantId);
    if (event.change === 'REMOVED') {
      this.#removeDomain(record, event.domain);
      return;
    }
    const entry: AcceptedDomain = {
      tenantId: record.tenantId,
      domain: event.domain,
      matchSubdomains: event.matchSubdomains,
      addedAt: event.occurredAt,
      // With the actor's one shared copy, as connectors keep theirs.
      verification: event.verification && {
        method: event.verification.method,
        verifiedAt: event.verification.verifiedAt,
        actor: this.#actor(event.verification.actor),
      },
      verificationToken: event.verificationToken,
    };
    record.acceptedDomains = withSorted(record.acceptedDomains, entry, domainOf);
    this.#domainClaims.change(record.tenantId, event.domain, entry);
  }

  #removeDomain(record: MutableRecord, domain: string): void {
    record.acceptedDomains = withoutSorted(record.acceptedDomains, domain, domainOf);
    this.#domainClaims.change(record.tenantId, domain, undefined);
  }

  #applyConnector(event: ConnectorChanged): void {
    const record = this.#record(event.tenantId);
    if (event.change === 'REMOVED') {
      this.#removeConnector(record, event.connectorId);
      this.#settingsAtBlock(record, event, null);
      return;
    }
    const previous = this.connector(event.tenantId, event.connectorId);
    if (previous) this.#connectorClaims.remove(previous);
    const changed = !previous || !sameSettings(previous, event);
    const connector: Connector = {
      // The record's copy: the event's own would be a second string per tenant.
      ...claimingFields(event, record.tenantId),
      createdBy: this.#actor(event.createdBy),
      updatedAt: event.occurredAt,
      updatedBy: this.#actor(event.actor),
      changedAt: changed ? event.occurredAt : previous.changedAt,
    };
    record.connectors = withSorted(record.connectors, connector, connectorIdOf);
    this.#connectorClaims.add(connector);
    this.#settingsAtBlock(record, event, connectorSettingsKey(connector));
  }

  #removeConnector(record: MutableRecord, connectorId: string): void {
    const previous = this.connector(record.tenantId, connectorId);
    if (previous) this.#connectorClaims.remove(previous);
    record.connectors = withoutSorted(record.connectors, connectorId, connectorIdOf);
  }

  /** A change from before the block read after it (a replay reading the blocks first) is its state at the block. */
  #settingsAtBlock(record: MutableRecord, event: ConnectorChanged, settings: string | null): void {
    const block = record.block;
    if (block && event.connectorId in block.connectorsAtBlock && event.occurredAt <= block.blockedAt) {
      record.block = {
        ...block,
        connectorsAtBlock: { ...block.connectorsAtBlock, [event.connectorId]: settings },
      };
    }
  }

  #actor(name: string): string {
    const known = this.#actors.get(name);
    if (known !== undefined) return known;
    this.#actors.set(name, name);
    return name;
  }

  #applyBlock(event: TenantBlockEvent): void {
    this.#blocks.apply(this.#record(event.tenantId), event, (connectorId) => {
      const connector = this.connector(event.tenantId, connectorId);
      // A connector already changed after the block (a replay reading its topic ahead) hides its state then.
      return connector && connector.updatedAt <= event.occurredAt ? connectorSettingsKey(connector) : null;
    });
  }
}
