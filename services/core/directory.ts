// The tenant directory: accepted domains, connectors, policy overrides and block state, materialized from the
// compacted topics. The scorer classifies with it, the enforcer decides with it, the admin API reads it.
// Every enforcer replica holds all of it (a million tenants and more), so a tenant's few domains and connectors
// are kept in small sorted arrays rather than a Map each: a Map's table costs ~180 bytes for one or two entries.
import type { AcceptedDomainLookup } from './classify.js';
import type {
  AcceptedDomainChanged,
  ConnectorChanged,
  RelayPath,
  TenantBlockEvent,
  TenantBlocked,
  TenantPolicyChanged,
  TenantUnblocked,
} from './contracts.generated.js';
import { normalizeDomain } from './domain-name.js';
import { type IpRange, IpRangeIndex, parseIpAddress, parseIpRange } from './ip-ranges.js';
import { overridesFromEvent, type PolicyOverrides } from './policy.js';

export interface AcceptedDomain {
  readonly domain: string;
  readonly matchSubdomains: boolean;
  readonly addedAt: number;
}

export interface Connector {
  readonly tenantId: string;
  readonly connectorId: string;
  readonly relayPath: RelayPath;
  readonly senderIpRanges: readonly string[];
  readonly tlsCertificateDomain: string | null;
  readonly enabled: boolean;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly updatedAt: number;
  readonly updatedBy: string;
  /**
   * When what the connector does last changed (relay path, ranges, certificate, enabled). A re-save with the same
   * settings keeps it, so "changed since the block" cannot be satisfied by saving a connector unchanged.
   */
  readonly changedAt: number;
}

export interface ActiveBlock extends TenantBlocked {
  readonly blockedAt: number;
}

export interface LiftedBlock extends TenantUnblocked {
  readonly unblockedAt: number;
}

export interface TenantRecord {
  readonly tenantId: string;
  /** Sorted by domain. A change replaces the array, so a reader's copy never changes under it. */
  readonly acceptedDomains: readonly AcceptedDomain[];
  /** Sorted by connector id; replaced on a change, as the domains are. */
  readonly connectors: readonly Connector[];
  readonly policy: PolicyOverrides | undefined;
  /** The current enforce- or monitor-mode block, null when none. */
  readonly block: ActiveBlock | null;
  readonly lastUnblock: LiftedBlock | null;
  /** Times of the blocks seen, newest last: the self-service rule allows one a month. */
  readonly blockTimes: readonly number[];
}

type MutableRecord = { -readonly [K in keyof TenantRecord]: TenantRecord[K] };

/** What a tenant with no domains, connectors or blocks shares instead of an empty array each. */
const NONE: readonly never[] = Object.freeze([]);

const domainOf = (entry: AcceptedDomain) => entry.domain;
const connectorIdOf = (entry: Connector) => entry.connectorId;

/** The index of the entry with this key in entries sorted by key, or -(where it would go) - 1. */
function findSorted<T>(entries: readonly T[], key: string, keyOf: (entry: T) => string): number {
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = keyOf(entries[middle]!);
    if (found === key) return middle;
    if (found < key) low = middle + 1;
    else high = middle - 1;
  }
  return -low - 1;
}

/** A copy of sorted entries with this one in, replacing the entry of the same key; exactly as long as needed. */
function withSorted<T>(entries: readonly T[], entry: T, keyOf: (entry: T) => string): readonly T[] {
  const at = findSorted(entries, keyOf(entry), keyOf);
  return at >= 0 ? entries.with(at, entry) : entries.toSpliced(-at - 1, 0, entry);
}

/** A copy of sorted entries without the entry of this key (the same array when there is none). */
function withoutSorted<T>(entries: readonly T[], key: string, keyOf: (entry: T) => string): readonly T[] {
  const at = findSorted(entries, key, keyOf);
  if (at < 0) return entries;
  return entries.length === 1 ? NONE : entries.toSpliced(at, 1);
}

export type DirectoryEvent =
  | { readonly kind: 'accepted-domain'; readonly event: AcceptedDomainChanged }
  | { readonly kind: 'connector'; readonly event: ConnectorChanged }
  | { readonly kind: 'tenant-policy'; readonly event: TenantPolicyChanged }
  | { readonly kind: 'tenant-block'; readonly event: TenantBlockEvent };

export interface ResolvedClient {
  readonly tenantId: string;
  readonly connector: Connector;
}

export class TenantDirectory implements AcceptedDomainLookup {
  readonly #tenants = new Map<string, MutableRecord>();
  readonly #byRange = new IpRangeIndex<Connector>();
  readonly #byCertificate = new Map<string, Connector>();
  /**
   * Actor names, one copy each: a few operators and services create every connector, and each decoded event
   * carries its own copy of the name (at a million tenants, two copies each cost ~64 MB).
   */
  readonly #actors = new Map<string, string>();
  #blockedCount = 0;
  #monitorBlockedCount = 0;

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

  tenant(tenantId: string): TenantRecord | undefined {
    return this.#tenants.get(tenantId);
  }

  tenants(): IterableIterator<TenantRecord> {
    return this.#tenants.values();
  }

  /** Tenants whose enforce-mode block is in force. */
  get blockedCount(): number {
    return this.#blockedCount;
  }

  /** Tenants in monitor mode whose latest block decision would have blocked them. */
  get monitorBlockedCount(): number {
    return this.#monitorBlockedCount;
  }

  acceptedDomain(tenantId: string, domain: string): AcceptedDomain | undefined {
    const domains = this.#tenants.get(tenantId)?.acceptedDomains;
    if (!domains) return undefined;
    const at = findSorted(domains, domain, domainOf);
    return at < 0 ? undefined : domains[at];
  }

  connector(tenantId: string, connectorId: string): Connector | undefined {
    const connectors = this.#tenants.get(tenantId)?.connectors;
    if (!connectors) return undefined;
    const at = findSorted(connectors, connectorId, connectorIdOf);
    return at < 0 ? undefined : connectors[at];
  }

  /** The enabled connector whose sender IP range most specifically contains the address. */
  resolveByAddress(address: string): ResolvedClient | undefined {
    const connector = this.#byRange.lookup(parseIpAddress(address));
    return connector ? { tenantId: connector.tenantId, connector } : undefined;
  }

  /** The enabled connector identified by a TLS client certificate for this domain. */
  resolveByCertificate(certificateDomain: string): ResolvedClient | undefined {
    const connector = this.#byCertificate.get(normalizeDomain(certificateDomain, 'certificate'));
    return connector ? { tenantId: connector.tenantId, connector } : undefined;
  }

  /** Which connector, if any, already claims this range: ranges may not be shared between tenants. */
  rangeOwner(range: IpRange): Connector | undefined {
    return this.#byRange.get(range);
  }

  #record(tenantId: string): MutableRecord {
    let record = this.#tenants.get(tenantId);
    if (!record) {
      record = {
        tenantId,
        acceptedDomains: NONE,
        connectors: NONE,
        policy: undefined,
        block: null,
        lastUnblock: null,
        blockTimes: NONE,
      };
      this.#tenants.set(tenantId, record);
    }
    return record;
  }

  #applyDomain(event: AcceptedDomainChanged): void {
    const record = this.#record(event.tenantId);
    record.acceptedDomains =
      event.change === 'REMOVED'
        ? withoutSorted(record.acceptedDomains, event.domain, domainOf)
        : withSorted(
            record.acceptedDomains,
            { domain: event.domain, matchSubdomains: event.matchSubdomains, addedAt: event.occurredAt },
            domainOf,
          );
  }

  #applyConnector(event: ConnectorChanged): void {
    const record = this.#record(event.tenantId);
    const previous = this.connector(event.tenantId, event.connectorId);
    if (previous) this.#unindex(previous);
    if (event.change === 'REMOVED') {
      record.connectors = withoutSorted(record.connectors, event.connectorId, connectorIdOf);
      return;
    }
    const changed = !previous || !sameSettings(previous, event);
    const connector: Connector = {
      // The record's copy: the event's own would be a second string per tenant.
      tenantId: record.tenantId,
      connectorId: event.connectorId,
      relayPath: event.relayPath,
      senderIpRanges: event.senderIpRanges,
      tlsCertificateDomain: event.tlsCertificateDomain,
      enabled: event.enabled,
      createdAt: event.createdAt,
      createdBy: this.#actor(event.createdBy),
      updatedAt: event.occurredAt,
      updatedBy: this.#actor(event.actor),
      changedAt: changed ? event.occurredAt : previous.changedAt,
    };
    record.connectors = withSorted(record.connectors, connector, connectorIdOf);
    if (connector.enabled) this.#index(connector);
  }

  #actor(name: string): string {
    const known = this.#actors.get(name);
    if (known !== undefined) return known;
    this.#actors.set(name, name);
    return name;
  }

  #index(connector: Connector): void {
    for (const cidr of connector.senderIpRanges) this.#byRange.set(parseIpRange(cidr), connector);
    if (connector.tlsCertificateDomain) this.#byCertificate.set(connector.tlsCertificateDomain, connector);
  }

  #unindex(connector: Connector): void {
    for (const cidr of connector.senderIpRanges) {
      const range = parseIpRange(cidr);
      if (this.#byRange.get(range) === connector) this.#byRange.delete(range);
    }
    const certificate = connector.tlsCertificateDomain;
    if (certificate && this.#byCertificate.get(certificate) === connector)
      this.#byCertificate.delete(certificate);
  }

  #applyBlock(event: TenantBlockEvent): void {
    const record = this.#record(event.tenantId);
    const wasBlocked = isEnforcedBlock(record);
    const wasMonitored = record.block?.mode === 'MONITOR';
    if (event.kind === 'BLOCKED' && event.blocked) {
      // A duplicate publish carries the same block id: it must not count as a second block.
      if (record.block?.blockId === event.blocked.blockId) return;
      record.block = { ...event.blocked, blockedAt: event.occurredAt };
      if (event.blocked.mode === 'ENFORCE') record.blockTimes = [...record.blockTimes, event.occurredAt];
    } else if (event.kind === 'UNBLOCKED' && event.unblocked) {
      if (record.lastUnblock?.blockId === event.unblocked.blockId && record.block === null) return;
      record.block = null;
      record.lastUnblock = { ...event.unblocked, unblockedAt: event.occurredAt };
    }
    this.#blockedCount += Number(isEnforcedBlock(record)) - Number(wasBlocked);
    this.#monitorBlockedCount += Number(record.block?.mode === 'MONITOR') - Number(wasMonitored);
  }
}

function sameSettings(connector: Connector, event: ConnectorChanged): boolean {
  return (
    connector.relayPath === event.relayPath &&
    connector.enabled === event.enabled &&
    connector.tlsCertificateDomain === event.tlsCertificateDomain &&
    connector.senderIpRanges.length === event.senderIpRanges.length &&
    connector.senderIpRanges.every((cidr, i) => cidr === event.senderIpRanges[i])
  );
}

/** Whether relays must reject this tenant's unregistered senders now. */
export function isEnforcedBlock(record: TenantRecord | undefined): boolean {
  return record?.block?.mode === 'ENFORCE';
}

export function probationUntil(record: TenantRecord | undefined): number | null {
  return record?.lastUnblock?.probationUntil ?? null;
}
