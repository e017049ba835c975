// A tenant's directory records as the remediation rules (services/admin/remediation-rules.ts) read them, without
// a directory: its connectors, its record with the block in force, and the lookups the rules ask.
import type { TenantLookups } from '../../services/admin/remediation-rules.js';
import type { ActiveBlock, Connector, TenantRecord } from '../../services/core/directory.js';

/** An enabled on-premises connector on 192.0.2.0/28, created and last changed by an operator at `since`. */
export function connectorRecord(
  tenantId: string,
  connectorId: string,
  since: number,
  settings: Partial<Connector> = {},
): Connector {
  return {
    tenantId,
    connectorId,
    relayPath: 'ONPREM',
    senderIpRanges: ['192.0.2.0/28'],
    tlsCertificateDomain: null,
    enabled: true,
    createdAt: since,
    createdBy: 'operator',
    updatedAt: since,
    updatedBy: 'operator',
    changedAt: since,
    identifiersSince: {},
    ...settings,
  };
}

/** A tenant's record with `block` in force (null: none), never unblocked, its blocks at `blockTimes`. */
export function tenantRecord(
  tenantId: string,
  block: ActiveBlock | null,
  blockTimes: number[],
  extra: Partial<TenantRecord> = {},
): TenantRecord {
  return {
    tenantId,
    acceptedDomains: [],
    connectors: [],
    policy: undefined,
    block,
    lastUnblock: null,
    generation: 0,
    blockTimes,
    ...extra,
  };
}

/** The rules' lookups of a tenant with these connectors and these accepted domains. */
export function tenantLookups(connectors: readonly Connector[], accepted: readonly string[]): TenantLookups {
  return {
    connector: (id) => connectors.find((entry) => entry.connectorId === id),
    isAccepted: (domain) => accepted.includes(domain),
  };
}
