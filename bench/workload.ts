// The synthetic fleet the throughput benchmarks share: tenants with accepted domains and a connector, and a
// stream of MessageSubmitted from them. Tenants are drawn uniformly, so a batch of 500 holds almost as many
// tenants as events: the worst case for batching, and the realistic one at a million tenants (the average
// tenant sends one message every few seconds). Event time moves 90 minutes over the stream, so windows fill
// their 60 minute buckets and slide.

import { TENANT_SCOPE } from '../services/core/block-event.js';
import type { MessageSubmitted, TenantBlockEvent } from '../services/core/contracts.generated.js';
import { type DirectoryEvent, TenantDirectory } from '../services/core/directory.js';
import { DEFAULT_POLICY } from '../services/core/policy.js';
import { stateKey, Topics } from '../services/core/topics.js';
import type { LogRecord, SchemaCodec } from '../services/platform/ports.js';
import { messageSubmitted, seededRandom } from '../test/support/builders.js';

export const START = Date.UTC(2026, 10, 28, 9);
const SPAN_MS = 90 * 60_000;

export function tenantId(i: number): string {
  return `tenant-${i}`;
}

/** A /28 of 10.0.0.0/8 per tenant: a million tenants fit, and no range contains another. */
export function tenantRange(i: number): string {
  const base = i << 4;
  return `10.${(base >> 16) & 255}.${(base >> 8) & 255}.${base & 255}/28`;
}

/** An address inside the tenant's range. */
export function tenantAddress(i: number): string {
  const base = (i << 4) + 5;
  return `10.${(base >> 16) & 255}.${(base >> 8) & 255}.${base & 255}`;
}

/** Every tenant's accepted domains (its own, subdomains included, and a second one) and its ONPREM connector. */
export function fleetDirectory(tenants: number): TenantDirectory {
  const directory = new TenantDirectory();
  for (let i = 0; i < tenants; i++) for (const change of tenantChanges(i)) directory.apply(change);
  return directory;
}

/** What the compacted topics hold for tenant number `i`. */
export function tenantChanges(i: number): DirectoryEvent[] {
  const id = tenantId(i);
  const at = START - 86_400_000;
  const domains = [
    [`${id}.example`, true],
    [`${id}-mail.example`, false],
  ] as const;
  return [
    ...domains.map(
      ([domain, matchSubdomains]): DirectoryEvent => ({
        kind: 'accepted-domain',
        event: {
          eventId: `d-${id}-${domain}`,
          tenantId: id,
          domain,
          change: 'ADDED',
          matchSubdomains,
          verification: { method: 'OPERATOR', verifiedAt: at, actor: 'admin@bench' },
          verificationToken: '',
          occurredAt: at,
          actor: 'admin@bench',
        },
      }),
    ),
    {
      kind: 'connector',
      event: {
        eventId: `c-${id}`,
        tenantId: id,
        connectorId: 'onprem-1',
        change: 'UPSERTED',
        relayPath: 'ONPREM',
        senderIpRanges: [tenantRange(i)],
        tlsCertificateDomain: null,
        enabled: true,
        createdAt: at,
        createdBy: 'admin@bench',
        identifiersSince: {},
        occurredAt: at,
        actor: 'admin@bench',
      },
    },
  ];
}

/** The compacted topic and key a directory change is written with (services/admin's publishers). */
export function stateRecord(change: DirectoryEvent): {
  topic: (typeof Topics)[keyof typeof Topics];
  key: string;
} {
  switch (change.kind) {
    case 'accepted-domain':
      return { topic: Topics.acceptedDomains, key: stateKey(change.event.tenantId, change.event.domain) };
    case 'connector':
      return { topic: Topics.connectors, key: stateKey(change.event.tenantId, change.event.connectorId) };
    case 'tenant-block':
      return { topic: Topics.tenantBlocks, key: change.event.tenantId };
    case 'tenant-policy':
      return { topic: Topics.tenantPolicies, key: change.event.tenantId };
  }
}

/** Tenant number `i` blocked (enforce mode) with the evidence a block carries. */
export function blockEvent(i: number): TenantBlockEvent {
  const id = tenantId(i);
  const blockId = `${id}@2026-11-28T10:00Z`;
  return {
    eventId: blockId,
    tenantId: id,
    occurredAt: START,
    kind: 'BLOCKED',
    unblocked: null,
    blocked: {
      blockId,
      mode: 'ENFORCE',
      reason: 'DISTINCT_DOMAINS',
      policyVersion: '2026-11.1',
      probation: false,
      ...TENANT_SCOPE,
      evidence: {
        windowStart: START - 3_600_000,
        windowEnd: START,
        unregistered: 900,
        forwardedUnregistered: 0,
        total: 1000,
        distinctUnregisteredDomains: 64,
        thresholds: DEFAULT_POLICY.thresholds,
        topDomains: Array.from({ length: 10 }, (_, k) => ({ domain: `spam${k}-${i}.example`, messages: 90 })),
        connectors: [
          {
            connectorId: 'onprem-1',
            messages: 900,
            createdAt: START - 86_400_000,
            total: 1000,
            distinctUnregisteredDomains: 64,
          },
        ],
      },
    },
  };
}

/**
 * `count` events from `tenants` tenants (numbered from `firstTenant`): 88% from a subdomain of the tenant's own
 * domain, 9% from its second domain, 3% from one of five unregistered partner domains (well below any threshold:
 * nobody is blocked).
 */
export function fleetEvents(tenants: number, count: number, seed = 7, firstTenant = 0): MessageSubmitted[] {
  const random = seededRandom(seed);
  const events: MessageSubmitted[] = [];
  for (let k = 0; k < count; k++) {
    const i = firstTenant + Math.floor(random() * tenants);
    const id = tenantId(i);
    const roll = random();
    const domain =
      roll < 0.88
        ? `mail.${id}.example`
        : roll < 0.97
          ? `${id}-mail.example`
          : `partner${Math.floor(random() * 5)}.example`;
    events.push(
      messageSubmitted({
        tenantId: id,
        occurredAt: START + Math.floor((k * SPAN_MS) / count),
        envelopeSenderDomain: domain,
        connectorId: 'onprem-1',
        clientAddress: tenantAddress(i),
        queueId: `Q${k.toString(36)}`,
        relayHost: 'relay-1.example',
      }),
    );
  }
  return events;
}

/** The events as consumed records of one partition, offsets from `firstOffset` on. */
export async function asRecords(
  codec: SchemaCodec,
  events: readonly MessageSubmitted[],
  firstOffset = 0,
): Promise<LogRecord[]> {
  return Promise.all(
    events.map(async (event, k) => ({
      key: event.tenantId,
      value: await codec.encode(Topics.messageSubmitted, event),
      headers: {},
      partition: 0,
      offset: String(firstOffset + k),
      timestamp: event.occurredAt,
    })),
  );
}

/** Splits records into consecutive batches of at most `size`. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += size) batches.push(items.slice(i, i + size));
  return batches;
}
