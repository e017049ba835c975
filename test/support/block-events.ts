// TenantBlockEvent builders: a block with evidence and an unblock, as the scorer and the admin API publish them.

import { TENANT_SCOPE } from '../../services/core/block-event.js';
import type { PolicyMode, TenantBlockEvent, TenantBlocked } from '../../services/core/contracts.generated.js';
import { blockIdFor } from '../../services/core/episodes.js';
import { Topics } from '../../services/core/topics.js';
import type { OutgoingRecord, SchemaCodec } from '../../services/platform/ports.js';

const HOUR_MS = 3_600_000;
/** When unblockedEvent lifts a block unless told otherwise: the generation it starts. */
const UNBLOCKED_AT = Date.UTC(2026, 11, 1, 12);

/** The id of a tenant's next block after an unblock at UNBLOCKED_AT: it carries the generation that unblock started. */
export const reblockId = (tenantId: string) => blockIdFor(tenantId, UNBLOCKED_AT + 3 * HOUR_MS, UNBLOCKED_AT);

/** What a block covers: TENANT_SCOPE, or some connectors (and where it came from). */
export type BlockScopeFields = Pick<
  TenantBlocked,
  'scope' | 'connectorIds' | 'scopeReason' | 'widenedFrom' | 'liftedConnectorIds'
>;

/** The scope fields of a block of these connectors. */
export const connectorScope = (...connectorIds: string[]): BlockScopeFields => ({
  ...TENANT_SCOPE,
  scope: 'CONNECTOR',
  connectorIds,
  scopeReason: `connectors ${connectorIds.join(', ')} carried the flood`,
});

/** A block's evidence of its connectors: each one's unregistered messages, all of them its T, from `domains` domains. */
export function evidenceConnectors(messagesByConnector: Record<string, number>, domains = 40) {
  return Object.entries(messagesByConnector).map(([connectorId, messages]) => ({
    connectorId,
    messages,
    createdAt: null,
    total: messages,
    distinctUnregisteredDomains: domains,
  }));
}

export function blockedEvent(
  tenantId: string,
  blockId: string,
  {
    at = Date.UTC(2026, 11, 1, 9),
    mode = 'ENFORCE',
    scope = TENANT_SCOPE,
  }: { at?: number; mode?: PolicyMode; scope?: BlockScopeFields } = {},
): TenantBlockEvent {
  return {
    eventId: blockId,
    tenantId,
    occurredAt: at,
    kind: 'BLOCKED',
    unblocked: null,
    blocked: {
      blockId,
      mode,
      reason: 'VOLUME',
      policyVersion: '1',
      probation: false,
      ...scope,
      evidence: {
        windowStart: at - HOUR_MS,
        windowEnd: at,
        unregistered: 620,
        forwardedUnregistered: 4,
        total: 900,
        distinctUnregisteredDomains: 12,
        thresholds: {
          minUnregistered: 500,
          minUnregisteredRatio: 0.25,
          minDistinctDomains: 50,
          minUnregisteredWithDistinct: 100,
        },
        topDomains: [{ domain: 'spam.example', messages: 300 }],
        connectors: [
          {
            connectorId: `${tenantId}-onprem`,
            messages: 620,
            createdAt: at - 2 * HOUR_MS,
            total: 620,
            distinctUnregisteredDomains: 1,
          },
        ],
      },
    },
  };
}

export function unblockedEvent(
  tenantId: string,
  blockId: string,
  { at = UNBLOCKED_AT }: { at?: number } = {},
): TenantBlockEvent {
  return {
    eventId: `${blockId}/unblock`,
    tenantId,
    occurredAt: at,
    kind: 'UNBLOCKED',
    blocked: null,
    unblocked: {
      blockId,
      source: 'OPERATOR',
      actor: 'op-anna',
      ticket: 'SUP-42',
      attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
      probationUntil: null,
    },
  };
}

/** The events as relayguard's producers publish them: keyed by tenant, encoded by the codec. */
export function blockRecords(
  codec: SchemaCodec,
  events: readonly TenantBlockEvent[],
): Promise<OutgoingRecord[]> {
  return Promise.all(
    events.map(async (event) => ({
      key: event.tenantId,
      value: await codec.encode(Topics.tenantBlocks, event),
    })),
  );
}
