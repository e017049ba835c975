// The tenant directory: accepted domains, connectors, policy overrides and block state, materialized from the
// compacted topics. The scorer classifies with it, the enforcer decides with it, the admin API reads it.
// Every enforcer replica holds all of it (a million tenants and more), so a tenant's few domains and connectors
// are kept in small sorted arrays rather than a Map each: a Map's table costs ~180 bytes for one or two entries.
import type { AcceptedDomainLookup } from './classify.js';
import { type ClaimConflict, ConnectorClaims } from './connector-claims.js';
import type {
  AcceptedDomainChanged,
  ConnectorChanged,
  DomainVerification,
  RelayPath,
  TenantBlockEvent,
  TenantBlocked,
  TenantPolicyChanged,
  TenantUnblocked,
} from './contracts.generated.js';
import { normalizeDomain } from './domain-name.js';
import { blockGeneration, FIRST_GENERATION, generationAfterUnblock } from './episodes.js';
import { type IpRange, parseIpAddress } from './ip-ranges.js';
import { overridesFromEvent, type PolicyOverrides } from './policy.js';
import { parseStateKey } from './topics.js';

export interface AcceptedDomain {
  readonly domain: string;
  readonly matchSubdomains: boolean;
  readonly addedAt: number;
  /** Null while pending: the domain counts as registered only once its owner proved control of it. */
  readonly verification: DomainVerification | null;
  /** The token of the TXT record that proves control (`relayguard-verification=<token>`). */
  readonly verificationToken: string;
}

/**
 * An accepted domain recorded before relayguard verified domains: no verification and no TXT token (every domain
 * accepted since carries one). It counts as registered until another tenant verifies the domain; an operator's
 * assertion makes it verified.
 */
export function isLegacyDomain(entry: AcceptedDomain): boolean {
  return entry.verification === null && entry.verificationToken === '';
}

/** A tenant's verified claim on a domain, in the index of who owns which domain. */
interface DomainClaim {
  readonly tenantId: string;
  readonly verifiedAt: number;
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
  /** Since when it claims each identifier (CIDR range or certificate domain); absent ones date from createdAt. */
  readonly identifiersSince: Readonly<Record<string, number>>;
}

export interface ActiveBlock extends TenantBlocked {
  readonly blockedAt: number;
  /**
   * What each connector of the evidence carried the mail with at the block (`connectorSettingsKey`), from its
   * latest change not after `blockedAt`; null while that is unknown (the topics replay in no common order, and
   * compaction may have dropped it). Self-service counts a connector as remediated only when it is disabled,
   * removed, or carries other ranges or another certificate than this, so a re-save or a disable and re-enable is not.
   */
  readonly connectorsAtBlock: Readonly<Record<string, string | null>>;
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
  /**
   * The generation of the tenant's block episodes (services/core/episodes.ts): started by the latest unblock.
   * Windows count only events after it; a block of an older generation was lifted.
   */
  readonly generation: number;
  /** Times of the blocks seen, newest last: the self-service rule allows one a month. */
  readonly blockTimes: readonly number[];
}

type MutableRecord = { -readonly [K in keyof TenantRecord]: TenantRecord[K] };

/** What a tenant with no domains, connectors or blocks shares instead of an empty array each. */
const NONE: readonly never[] = Object.freeze([]);
const NO_CLAIM_TIMES: Readonly<Record<string, number>> = Object.freeze({});

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
  /** Who owns each sender range and certificate name (connector-claims.ts). */
  readonly #connectorClaims = new ConnectorClaims();
  /**
   * Verified domain claims of every tenant, earliest verification first: the first owns the domain. Nearly every
   * domain has one claimant, held as its tenant id alone (no array, no claim object: millions of domains).
   */
  readonly #domainClaims = new Map<string, string | DomainClaim[]>();
  /**
   * Actor names, one copy each: a few operators and services create every connector, and each decoded event
   * carries its own copy of the name (at a million tenants, two copies each cost ~64 MB).
   */
  readonly #actors = new Map<string, string>();
  /**
   * Tenants whose latest tenant-blocks record is a block of a lifted episode (by its block id): ignored here, but
   * it is what compaction keeps once the unblock before it is older than the compaction lag, and what a reader
   * that only takes the latest record sees. The scorer publishes the unblock again for them (reaffirmations).
   */
  readonly #liftedLast = new Map<string, string>();
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

  tenant(tenantId: string): TenantRecord | undefined {
    return this.#tenants.get(tenantId);
  }

  tenants(): IterableIterator<TenantRecord> {
    return this.#tenants.values();
  }

  /** Each tenant whose latest record is a block of a lifted episode, with the unblock that lifted it. */
  liftedBlocksLast(): { tenantId: string; blockId: string; unblock: LiftedBlock }[] {
    return [...this.#liftedLast].map(([tenantId, blockId]) => ({
      tenantId,
      blockId,
      unblock: this.#tenants.get(tenantId)!.lastUnblock!,
    }));
  }

  /** Tenants whose enforce-mode block is in force. */
  get blockedCount(): number {
    return this.#blockedCount;
  }

  /** Tenants in monitor mode whose latest block decision would have blocked them. */
  get monitorBlockedCount(): number {
    return this.#monitorBlockedCount;
  }

  /**
   * The tenant's registered entry for exactly this domain: verified, and owned by this tenant (no other tenant
   * verified it earlier). What classification asks; `domainEntry` is the entry whatever its state.
   */
  acceptedDomain(tenantId: string, domain: string): AcceptedDomain | undefined {
    const entry = this.domainEntry(tenantId, domain);
    if (!entry) return undefined;
    const claims = this.#domainClaims.get(domain);
    const owner = typeof claims === 'string' ? claims : claims?.[0]?.tenantId;
    if (entry.verification) return owner === tenantId ? entry : undefined;
    // Accepted before verification existed: it stays registered (an upgrade must not turn every tenant's own mail
    // into unregistered volume and block it), until another tenant proves control of the domain.
    return isLegacyDomain(entry) && owner === undefined ? entry : undefined;
  }

  /** The tenant's entry for this domain, pending or verified. */
  domainEntry(tenantId: string, domain: string): AcceptedDomain | undefined {
    const domains = this.#tenants.get(tenantId)?.acceptedDomains;
    if (!domains) return undefined;
    const at = findSorted(domains, domain, domainOf);
    return at < 0 ? undefined : domains[at];
  }

  /**
   * Another tenant's verified claim this domain would collide with: the same domain, a parent whose subdomains
   * it registered, or (when this claim takes subdomains) a verified domain below it. The downward check scans
   * every verified domain, so it is for admin writes.
   */
  domainConflict(tenantId: string, domain: string, matchSubdomains: boolean): string | undefined {
    const isOther = (claims: readonly DomainClaim[] | undefined) =>
      claims?.some((claim) => claim.tenantId !== tenantId) ?? false;
    if (isOther(this.#claimants(domain))) return domain;
    for (let dot = domain.indexOf('.'); dot !== -1; dot = domain.indexOf('.', dot + 1)) {
      const parent = domain.slice(dot + 1);
      const claims = this.#claimants(parent);
      const covering = claims?.some(
        (claim) => claim.tenantId !== tenantId && this.domainEntry(claim.tenantId, parent)?.matchSubdomains,
      );
      if (covering) return parent;
    }
    if (!matchSubdomains) return undefined;
    const suffix = `.${domain}`;
    for (const claimed of this.#domainClaims.keys()) {
      if (claimed.endsWith(suffix) && isOther(this.#claimants(claimed))) return claimed;
    }
    return undefined;
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
    let record = this.#tenants.get(tenantId);
    if (!record) {
      record = {
        tenantId,
        acceptedDomains: NONE,
        connectors: NONE,
        policy: undefined,
        block: null,
        lastUnblock: null,
        generation: FIRST_GENERATION,
        blockTimes: NONE,
      };
      this.#tenants.set(tenantId, record);
    }
    return record;
  }

  #applyDomain(event: AcceptedDomainChanged): void {
    const record = this.#record(event.tenantId);
    if (event.change === 'REMOVED') {
      this.#removeDomain(record, event.domain);
      return;
    }
    const rest = this.#otherClaimants(record, event.domain);
    record.acceptedDomains = withSorted(
      record.acceptedDomains,
      {
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
      },
      domainOf,
    );
    if (event.verification) {
      const claim = { tenantId: record.tenantId, verifiedAt: event.verification.verifiedAt };
      const at = rest.findIndex((other) => verifiedBefore(claim, other));
      rest.splice(at === -1 ? rest.length : at, 0, claim);
    }
    this.#setClaimants(event.domain, rest);
  }

  #removeDomain(record: MutableRecord, domain: string): void {
    const rest = this.#otherClaimants(record, domain);
    record.acceptedDomains = withoutSorted(record.acceptedDomains, domain, domainOf);
    this.#setClaimants(domain, rest);
  }

  /** The verified claims of other tenants than the record's on the domain, earliest first. */
  #otherClaimants(record: MutableRecord, domain: string): DomainClaim[] {
    return this.#claimants(domain).filter((claim) => claim.tenantId !== record.tenantId);
  }

  #setClaimants(domain: string, claims: readonly DomainClaim[]): void {
    if (claims.length === 0) this.#domainClaims.delete(domain);
    else this.#domainClaims.set(domain, claims.length === 1 ? claims[0]!.tenantId : [...claims]);
  }

  /** The verified claims on exactly this domain, earliest first (a fresh array). */
  #claimants(domain: string): DomainClaim[] {
    const claims = this.#domainClaims.get(domain);
    if (claims === undefined) return [];
    if (typeof claims !== 'string') return [...claims];
    const verifiedAt = this.domainEntry(claims, domain)!.verification!.verifiedAt;
    return [{ tenantId: claims, verifiedAt }];
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
      identifiersSince:
        Object.keys(event.identifiersSince).length === 0 ? NO_CLAIM_TIMES : event.identifiersSince,
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
    const record = this.#record(event.tenantId);
    const wasBlocked = isEnforcedBlock(record);
    const wasMonitored = record.block?.mode === 'MONITOR';
    if (event.kind === 'BLOCKED' && event.blocked) {
      // A duplicate publish carries the same block id: it must not count as a second block.
      if (record.block?.blockId === event.blocked.blockId) return;
      // A block of a lifted episode (a replay, a retry or a zombie scorer publishing after the unblock) stays
      // lifted: it neither blocks again nor counts as a second block.
      const generation = blockGeneration(event.blocked.blockId);
      if (generation < record.generation || record.lastUnblock?.blockId === event.blocked.blockId) {
        // Now the tenant's latest record: compaction would keep it and drop the unblock (liftedLast).
        if (record.lastUnblock !== null) this.#liftedLast.set(event.tenantId, event.blocked.blockId);
        return;
      }
      this.#liftedLast.delete(event.tenantId);
      // Newer than the unblocks seen: compaction kept this block and dropped the unblock that started its generation.
      record.generation = generation;
      const connectorsAtBlock: Record<string, string | null> = {};
      for (const { connectorId } of event.blocked.evidence.connectors) {
        const connector = this.connector(event.tenantId, connectorId);
        // A connector already changed after the block (a replay reading its topic ahead) hides its state then.
        connectorsAtBlock[connectorId] =
          connector && connector.updatedAt <= event.occurredAt ? connectorSettingsKey(connector) : null;
      }
      record.block = { ...event.blocked, blockedAt: event.occurredAt, connectorsAtBlock };
      if (event.blocked.mode === 'ENFORCE') record.blockTimes = [...record.blockTimes, event.occurredAt];
    } else if (event.kind === 'UNBLOCKED' && event.unblocked) {
      this.#liftedLast.delete(event.tenantId);
      record.generation = Math.max(
        record.generation,
        generationAfterUnblock(event.occurredAt, event.unblocked.blockId),
      );
      if (record.lastUnblock?.blockId === event.unblocked.blockId && record.block === null) return;
      record.block = null;
      record.lastUnblock = { ...event.unblocked, unblockedAt: event.occurredAt };
    }
    this.#blockedCount += Number(isEnforcedBlock(record)) - Number(wasBlocked);
    this.#monitorBlockedCount += Number(record.block?.mode === 'MONITOR') - Number(wasMonitored);
  }
}

/** The earlier verification owns a domain; equal times fall to the tenant id, so every replica agrees. */
function verifiedBefore(a: DomainClaim, b: DomainClaim): boolean {
  return a.verifiedAt !== b.verifiedAt ? a.verifiedAt < b.verifiedAt : a.tenantId < b.tenantId;
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

/** What identifies the mail a connector carries: its sender ranges (in any order) and its certificate domain. */
export function connectorSettingsKey(connector: Connector): string {
  return JSON.stringify([[...connector.senderIpRanges].sort(), connector.tlsCertificateDomain]);
}

/** Whether relays must reject this tenant's unregistered senders now. */
export function isEnforcedBlock(record: TenantRecord | undefined): boolean {
  return record?.block?.mode === 'ENFORCE';
}

/** The enforce-mode block in force, if any: the episode a window records even when it did not decide it. */
export function enforcedBlockId(record: TenantRecord | undefined): string | null {
  return isEnforcedBlock(record) ? record!.block!.blockId : null;
}

export function probationUntil(record: TenantRecord | undefined): number | null {
  return record?.lastUnblock?.probationUntil ?? null;
}
