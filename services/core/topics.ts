// The topics of DESIGN.md and the contract each carries. Keys: tenantId, or tenantId/<object> where the
// compacted topic keeps one record per object.
import type {
  AcceptedDomainChanged,
  AuditEvent,
  ConnectorChanged,
  MessageSubmitted,
  TenantBlockEvent,
  TenantPolicyChanged,
  WebhookDelivery,
  WebhookEndpointChanged,
  WebhookReplay,
} from './contracts.generated.js';

export const Topics = {
  messageSubmitted: 'relayguard.message-submitted.v1',
  messageSubmittedDlq: 'relayguard.message-submitted.dlq.v1',
  tenantBlocks: 'relayguard.tenant-blocks.v1',
  acceptedDomains: 'relayguard.accepted-domains.v1',
  connectors: 'relayguard.connectors.v1',
  tenantPolicies: 'relayguard.tenant-policies.v1',
  audit: 'relayguard.audit.v1',
  /** Webhook deliveries that failed for good: the CloudEvent as it would have been posted, headers name why. */
  webhooksDlq: 'relayguard.webhooks.dlq.v1',
  /** Webhook endpoints registered through the admin API (compacted, key = endpointId). */
  webhookEndpoints: 'relayguard.webhook-endpoints.v1',
  /** The webhook delivery log: each attempt's outcome per endpoint and event. */
  webhookDeliveries: 'relayguard.webhook-deliveries.v1',
  /** Events an operator asked to deliver again to an endpoint. */
  webhookReplays: 'relayguard.webhook-replays.v1',
} as const;

/**
 * The key of one object's records on a compacted topic that keeps one record per object (accepted-domains:
 * tenantId/domain, connectors: tenantId/connectorId). Tenant ids never contain a slash (ID_PATTERN).
 */
export function stateKey(tenantId: string, object: string): string {
  return `${tenantId}/${object}`;
}

/** The tenant and object of a `stateKey`: what a tombstone, which carries only its key, removes. */
export function parseStateKey(key: string): { readonly tenantId: string; readonly object: string } {
  const slash = key.indexOf('/');
  return slash === -1
    ? { tenantId: key, object: '' }
    : { tenantId: key.slice(0, slash), object: key.slice(slash + 1) };
}

/** Topics whose records are Avro values of a schema in schemas/ (the DLQ carries foreign bytes). */
export interface TopicContracts {
  [Topics.messageSubmitted]: MessageSubmitted;
  [Topics.tenantBlocks]: TenantBlockEvent;
  [Topics.acceptedDomains]: AcceptedDomainChanged;
  [Topics.connectors]: ConnectorChanged;
  [Topics.tenantPolicies]: TenantPolicyChanged;
  [Topics.audit]: AuditEvent;
  [Topics.webhookEndpoints]: WebhookEndpointChanged;
  [Topics.webhookDeliveries]: WebhookDelivery;
  [Topics.webhookReplays]: WebhookReplay;
}

export type ContractTopic = keyof TopicContracts;

/** The schema file in schemas/ of each contract topic (subject `<topic>-value`). */
export const TopicSchemas: Readonly<Record<ContractTopic, string>> = {
  [Topics.messageSubmitted]: 'message-submitted.avsc',
  [Topics.tenantBlocks]: 'tenant-block-event.avsc',
  [Topics.acceptedDomains]: 'accepted-domain-changed.avsc',
  [Topics.connectors]: 'connector-changed.avsc',
  [Topics.tenantPolicies]: 'tenant-policy-changed.avsc',
  [Topics.audit]: 'audit-event.avsc',
  [Topics.webhookEndpoints]: 'webhook-endpoint-changed.avsc',
  [Topics.webhookDeliveries]: 'webhook-delivery.avsc',
  [Topics.webhookReplays]: 'webhook-replay.avsc',
};

/** The compacted topics hold state: the latest record per key is the current value. */
export const CompactedTopics: readonly string[] = [
  Topics.tenantBlocks,
  Topics.acceptedDomains,
  Topics.connectors,
  Topics.tenantPolicies,
  Topics.webhookEndpoints,
];

/**
 * How far back the tenant-blocks topic must keep every record, superseded or not: an operator, not self-service,
 * lifts a tenant's second block within this period, and the block history is read back from that topic. Its
 * `min.compaction.lag.ms` is set to this, so compaction cannot forget an earlier block too soon.
 */
export const BLOCK_HISTORY_MS = 30 * 86_400_000;
