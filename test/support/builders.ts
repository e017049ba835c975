// Builders for events and fixtures: tests say only what matters to them.

import type { ConnectorInput } from '../../services/admin/connectors.js';
import { TENANT_SCOPE } from '../../services/core/block-event.js';
import type {
  AcceptedDomainChanged,
  ConnectorChanged,
  MessageSubmitted,
  RelayPath,
} from '../../services/core/contracts.generated.js';
import type { DirectoryEvent } from '../../services/core/directory.js';
import { seededRandom } from '../../services/core/seeded-random.js';
import { type ContractTopic, type TopicContracts, Topics } from '../../services/core/topics.js';

let sequence = 0;

/** What a ConnectorChanged event says of an on-premises connector with one range, created by ops at 1,000. */
export function connectorSettings(): Omit<
  ConnectorChanged,
  'eventId' | 'occurredAt' | 'actor' | 'tenantId' | 'connectorId' | 'change'
> {
  return {
    relayPath: 'ONPREM',
    senderIpRanges: ['192.0.2.0/24'],
    tlsCertificateDomain: null,
    enabled: true,
    createdAt: 1_000,
    createdBy: 'ops',
    identifiersSince: {},
  };
}

/** A domain added to a tenant's accepted domains by ops at 1: exact (no subdomains) and unverified unless overridden. */
export function acceptedDomainAdded(
  tenantId: string,
  domain: string,
  overrides: Partial<AcceptedDomainChanged> = {},
): DirectoryEvent {
  return {
    kind: 'accepted-domain',
    event: {
      eventId: `${tenantId}/${domain}`,
      tenantId,
      domain,
      change: 'ADDED',
      matchSubdomains: false,
      occurredAt: 1,
      actor: 'ops',
      verification: null,
      verificationToken: '',
      ...overrides,
    },
  };
}

/** An enabled on-premises connector identified by one sender IP range. */
export function onpremConnector(senderIpRange: string): ConnectorInput {
  return { relayPath: 'ONPREM', senderIpRanges: [senderIpRange], enabled: true };
}

export function messageSubmitted(
  overrides: Partial<MessageSubmitted> & { tenantId: string; occurredAt: number },
): MessageSubmitted {
  sequence++;
  return {
    eventId: `evt-${sequence}`,
    envelopeSenderDomain: 'example.com',
    headerFromDomain: null,
    relayPath: 'ONPREM' satisfies RelayPath,
    connectorId: null,
    clientAddress: null,
    queueId: null,
    relayHost: null,
    recipientCount: 1,
    sizeBytes: 2048,
    ...overrides,
  };
}

export { seededRandom };

export function randomDomains(count: number, random: () => number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `spam${i}-${Math.floor(random() * 1e9).toString(36)}.example`,
  );
}

/** One valid value per contract topic: the codec contract round-trips each. */
export function sampleContractValues(): { [T in ContractTopic]: TopicContracts[T] } {
  const at = Date.UTC(2026, 10, 28, 9);
  return {
    [Topics.messageSubmitted]: messageSubmitted({
      tenantId: 'acme',
      occurredAt: at,
      headerFromDomain: 'acme.example',
      queueId: '4Xb1c2',
    }),
    [Topics.acceptedDomains]: {
      eventId: 'e1',
      tenantId: 'acme',
      domain: 'xn--bcher-kva.example',
      change: 'ADDED',
      matchSubdomains: true,
      verification: { method: 'DNS_TXT', verifiedAt: at, actor: 'tenant-admin:acme' },
      verificationToken: '0123456789abcdef',
      occurredAt: at,
      actor: 'op',
    },
    [Topics.connectors]: {
      eventId: 'e2',
      tenantId: 'acme',
      connectorId: 'c1',
      change: 'UPSERTED',
      relayPath: 'ONPREM',
      senderIpRanges: ['192.0.2.0/24', '2001:db8::/32'],
      tlsCertificateDomain: null,
      enabled: true,
      createdAt: at,
      createdBy: 'op',
      identifiersSince: {},
      occurredAt: at,
      actor: 'op',
    },
    [Topics.tenantPolicies]: {
      eventId: 'e3',
      tenantId: 'acme',
      mode: 'MONITOR',
      minUnregistered: 250,
      minUnregisteredRatio: null,
      minDistinctDomains: null,
      minUnregisteredWithDistinct: null,
      forwardedWeight: 0.5,
      occurredAt: at,
      actor: 'op',
    },
    [Topics.tenantBlocks]: {
      eventId: 'acme@2026-11-28T10:00Z',
      tenantId: 'acme',
      occurredAt: at,
      kind: 'BLOCKED',
      unblocked: null,
      blocked: {
        blockId: 'acme@2026-11-28T10:00Z',
        mode: 'ENFORCE',
        reason: 'VOLUME',
        policyVersion: '1',
        probation: false,
        ...TENANT_SCOPE,
        evidence: {
          windowStart: at - 3_600_000,
          windowEnd: at,
          unregistered: 600,
          forwardedUnregistered: 3,
          total: 800,
          distinctUnregisteredDomains: 64,
          thresholds: {
            minUnregistered: 500,
            minUnregisteredRatio: 0.25,
            minDistinctDomains: 50,
            minUnregisteredWithDistinct: 100,
          },
          topDomains: [{ domain: 'spam.example', messages: 40 }],
          connectors: [
            {
              connectorId: 'c1',
              messages: 600,
              createdAt: at - 1000,
              total: 700,
              distinctUnregisteredDomains: 1,
            },
          ],
        },
      },
    },
    [Topics.audit]: {
      auditId: 'a1',
      occurredAt: at,
      actor: 'op',
      role: 'OPERATOR',
      action: 'tenant.unblock',
      tenantId: 'acme',
      target: 'b1',
      ticket: 'SUP-1',
      details: { warnings: '' },
    },
    [Topics.webhookEndpoints]: {
      eventId: 'e4',
      endpointId: 'billing',
      change: 'UPSERTED',
      url: 'https://billing.example/hooks/relayguard',
      secret: 'whsec-0123456789abcdef',
      events: ['BLOCKED', 'UNBLOCKED'],
      tenants: ['acme'],
      createdAt: at,
      occurredAt: at,
      actor: 'op',
    },
    [Topics.webhookDeliveries]: {
      endpointId: 'billing',
      eventId: 'acme@2026-11-28T10:00Z',
      eventType: 'io.relayguard.tenant.blocked.v1',
      tenantId: 'acme',
      status: 'RETRYING',
      attempts: 2,
      lastError: 'the receiver answered 503',
      replayId: null,
      occurredAt: at,
    },
    [Topics.webhookReplays]: {
      replayId: 'r1',
      endpointId: 'billing',
      tenantId: 'acme',
      eventId: 'acme@2026-11-28T10:00Z',
      eventType: 'io.relayguard.tenant.blocked.v1',
      cloudEvent: '{"specversion":"1.0","id":"acme@2026-11-28T10:00Z"}',
      requestedAt: at,
      actor: 'op',
    },
  };
}
