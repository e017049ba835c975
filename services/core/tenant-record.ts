// What the directory holds per tenant: its accepted domains, connectors, policy overrides and block state, and
// the small sorted arrays they are kept in. Every enforcer replica holds all of it (a million tenants and more), so a
// tenant's few domains and connectors are kept in small sorted arrays rather than a Map each: a Map's table costs
// ~180 bytes for one or two entries.
import type {
  ConnectorChanged,
  DomainVerification,
  RelayPath,
  TenantBlocked,
  TenantUnblocked,
} from './contracts.generated.js';
import { FIRST_GENERATION } from './episodes.js';
import type { PolicyOverrides } from './policy.js';

export interface AcceptedDomain {
  /** The record's copy of its tenant's id: the index of who holds a domain (domain-claims.ts) keeps entries. */
  readonly tenantId: string;
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

/** The tenant's record in `records`; a new one, added there, when none was read yet. */
export function recordIn(records: Map<string, MutableRecord>, tenantId: string): MutableRecord {
  const known = records.get(tenantId);
  if (known) return known;
  const record = newRecord(tenantId);
  records.set(tenantId, record);
  return record;
}

/** A tenant's record before any of its records was read. */
function newRecord(tenantId: string): MutableRecord {
  return {
    tenantId,
    acceptedDomains: NONE,
    connectors: NONE,
    policy: undefined,
    block: null,
    lastUnblock: null,
    generation: FIRST_GENERATION,
    blockTimes: NONE,
  };
}

export type MutableRecord = { -readonly [K in keyof TenantRecord]: TenantRecord[K] };

/** What a tenant with no domains, connectors or blocks shares instead of an empty array each. */
export const NONE: readonly never[] = Object.freeze([]);
export const NO_CLAIM_TIMES: Readonly<Record<string, number>> = Object.freeze({});

export const domainOf = (entry: AcceptedDomain) => entry.domain;
export const connectorIdOf = (entry: Connector) => entry.connectorId;

/** The index of the entry with this key in entries sorted by key, or -(where it would go) - 1. */
export function findSorted<T>(entries: readonly T[], key: string, keyOf: (entry: T) => string): number {
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
export function withSorted<T>(entries: readonly T[], entry: T, keyOf: (entry: T) => string): readonly T[] {
  const at = findSorted(entries, keyOf(entry), keyOf);
  return at >= 0 ? entries.with(at, entry) : entries.toSpliced(-at - 1, 0, entry);
}

/** A copy of sorted entries without the entry of this key (the same array when there is none). */
export function withoutSorted<T>(
  entries: readonly T[],
  key: string,
  keyOf: (entry: T) => string,
): readonly T[] {
  const at = findSorted(entries, key, keyOf);
  if (at < 0) return entries;
  return entries.length === 1 ? NONE : entries.toSpliced(at, 1);
}

/** What a connector event says about the connector's claims and relaying, as both directories keep it. */
export function claimingFields(event: ConnectorChanged, tenantId: string) {
  return {
    tenantId,
    connectorId: event.connectorId,
    relayPath: event.relayPath,
    senderIpRanges: event.senderIpRanges,
    tlsCertificateDomain: event.tlsCertificateDomain,
    enabled: event.enabled,
    createdAt: event.createdAt,
    identifiersSince:
      Object.keys(event.identifiersSince).length === 0 ? NO_CLAIM_TIMES : event.identifiersSince,
  };
}

/** Whether the event leaves what the connector does (relay path, enabled, ranges, certificate) as it was. */
export function sameSettings(connector: Connector, event: ConnectorChanged): boolean {
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
export function isEnforcedBlock(
  record: { readonly block: Pick<TenantBlocked, 'mode'> | null } | undefined,
): boolean {
  return record?.block?.mode === 'ENFORCE';
}

/** The enforce-mode block in force, if any: the episode a window records even when it did not decide it. */
export function enforcedBlock(record: Pick<TenantRecord, 'block'> | undefined): ActiveBlock | null {
  return isEnforcedBlock(record) ? record!.block : null;
}

export function probationUntil(record: TenantRecord | undefined): number | null {
  return record?.lastUnblock?.probationUntil ?? null;
}
