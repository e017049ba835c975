// Generated from schemas/*.avsc by scripts/gen-contracts.ts. Do not edit: change the schema and run
// `npm run gen`. Timestamps (timestamp-millis) are epoch milliseconds.

/** ADDED registers or updates the domain; REMOVED unregisters it. */
export type DomainChange = 'ADDED' | 'REMOVED';
export const DomainChangeValues = ['ADDED', 'REMOVED'] as const;

/** DNS_TXT: relayguard found the TXT record verificationToken names at the domain; OPERATOR: an operator asserted it (audited). */
export type VerificationMethod = 'DNS_TXT' | 'OPERATOR';
export const VerificationMethodValues = ['DNS_TXT', 'OPERATOR'] as const;

/** How the tenant proved control of the domain. */
export interface DomainVerification {
  /** How control was proved. */
  readonly method: VerificationMethod;
  /** When control was proved; the earliest verified claim owns the domain when two tenants' claims race. */
  readonly verifiedAt: number;
  /** Who asked for the check or made the assertion (token subject). */
  readonly actor: string;
}

/** A tenant registered or removed an accepted domain. Topic relayguard.accepted-domains.v1 (compacted), key = tenantId/domain. */
export interface AcceptedDomainChanged {
  /** Unique id of this change. */
  readonly eventId: string;
  /** The tenant that owns the domain. */
  readonly tenantId: string;
  /** The accepted domain, normalized: lower case, no trailing dot, IDN in ASCII (punycode). */
  readonly domain: string;
  /** What happened to the domain. */
  readonly change: DomainChange;
  /** When true, every subdomain of the domain counts as registered too. */
  readonly matchSubdomains: boolean;
  /** When the change was made. */
  readonly occurredAt: number;
  /** Who made the change (token subject, never the token). */
  readonly actor: string;
  /** Null while the domain is pending: an unverified accepted domain counts as unregistered. */
  readonly verification: null | DomainVerification;
  /** The value of the TXT record that proves control: relayguard-verification=<token>, published at the domain itself. */
  readonly verificationToken: string;
}

/** The actor's role. */
export type Role = 'OPERATOR' | 'TENANT_ADMIN' | 'READER' | 'SYSTEM';
export const RoleValues = ['OPERATOR', 'TENANT_ADMIN', 'READER', 'SYSTEM'] as const;

/** Who did what, when, and why. Topic relayguard.audit.v1 (retained, not compacted), key = tenantId or the actor. */
export interface AuditEvent {
  /** Unique id of this record. */
  readonly auditId: string;
  /** When the action was taken. */
  readonly occurredAt: number;
  /** The subject who acted (never a token). */
  readonly actor: string;
  /** The role the actor acted in. */
  readonly role: Role;
  /** What was done, e.g. accepted-domain.put, connector.delete, tenant.unblock. */
  readonly action: string;
  /** The tenant acted on, if any. */
  readonly tenantId: null | string;
  /** The object acted on (a domain, a connector id, a block id). */
  readonly target: null | string;
  /** Support ticket reference, when the action carries one. */
  readonly ticket: null | string;
  /** Further facts of the action, e.g. attestations and warnings. */
  readonly details: Readonly<Record<string, string>>;
}

/** UPSERTED creates or replaces the connector; REMOVED deletes it. */
export type ConnectorChange = 'UPSERTED' | 'REMOVED';
export const ConnectorChangeValues = ['UPSERTED', 'REMOVED'] as const;

/** How the message reached the relay: ONPREM through a hybrid server's inbound connector, FORWARDED from a tenant mailbox to an external mailbox, APPLICATION from devices and apps. */
export type RelayPath = 'ONPREM' | 'FORWARDED' | 'APPLICATION';
export const RelayPathValues = ['ONPREM', 'FORWARDED', 'APPLICATION'] as const;

/** A tenant's inbound connector was created, changed or removed. Topic relayguard.connectors.v1 (compacted), key = tenantId/connectorId. */
export interface ConnectorChanged {
  /** Unique id of this change. */
  readonly eventId: string;
  /** The tenant the connector belongs to and identifies. */
  readonly tenantId: string;
  /** The connector's id, unique within the tenant. */
  readonly connectorId: string;
  /** What happened to the connector. */
  readonly change: ConnectorChange;
  /** The relay path of mail arriving on this connector. */
  readonly relayPath: RelayPath;
  /** CIDR ranges (IPv4 or IPv6) of the servers that relay through this connector. */
  readonly senderIpRanges: readonly string[];
  /** Domain of the TLS client certificate that identifies the tenant's server, when the connector identifies by certificate. */
  readonly tlsCertificateDomain: null | string;
  /** A disabled connector identifies no mail. */
  readonly enabled: boolean;
  /** When the connector was first created: recently created connectors carrying unregistered volume are unusual. */
  readonly createdAt: number;
  /** Who created the connector. */
  readonly createdBy: string;
  /** When this change was made. */
  readonly occurredAt: number;
  /** Who made this change. */
  readonly actor: string;
  /** Since when the connector has claimed each of its identifiers (a CIDR range or the certificate domain, as given above), epoch milliseconds. The earliest claim of an identifier owns it when two tenants' claims race; absent entries date from createdAt. */
  readonly identifiersSince: Readonly<Record<string, number>>;
}

/** One message a relay accepted for relay on behalf of a tenant. Topic relayguard.message-submitted.v1, key = tenantId. Only domains leave the relay: local parts of addresses are never published. */
export interface MessageSubmitted {
  /** Unique id of this event, chosen by the publisher (relay queue id based or random); lets consumers drop a duplicate publish. */
  readonly eventId: string;
  /** The tenant the relay resolved from the connector the message arrived on. */
  readonly tenantId: string;
  /** When the relay accepted the message (event time; windows are placed by it). */
  readonly occurredAt: number;
  /** Domain of the envelope sender (MAIL FROM) as the relay saw it; null for the null sender <> (bounces). */
  readonly envelopeSenderDomain: null | string;
  /** Domain of the header From address; used when the envelope sender is null. */
  readonly headerFromDomain: null | string;
  /** The relay path of the connector the message arrived on. */
  readonly relayPath: RelayPath;
  /** The tenant's connector the message arrived on, when known. */
  readonly connectorId: null | string;
  /** IP address of the SMTP client that handed the message to the relay. */
  readonly clientAddress: null | string;
  /** The relay's queue id for the message: the correlation id from relay log to event to block. */
  readonly queueId: null | string;
  /** Name of the relay host that accepted the message. */
  readonly relayHost: null | string;
  /** Number of envelope recipients. */
  readonly recipientCount: number;
  /** Message size in bytes as the relay measured it. */
  readonly sizeBytes: number;
}

/** BLOCKED: the policy decided to block (see mode). UNBLOCKED: the block was lifted. */
export type BlockEventKind = 'BLOCKED' | 'UNBLOCKED';
export const BlockEventKindValues = ['BLOCKED', 'UNBLOCKED'] as const;

/** ENFORCE or MONITOR. */
export type PolicyMode = 'ENFORCE' | 'MONITOR';
export const PolicyModeValues = ['ENFORCE', 'MONITOR'] as const;

/** VOLUME: U and U/T crossed their thresholds. DISTINCT_DOMAINS: D and U crossed theirs. */
export type BlockReason = 'VOLUME' | 'DISTINCT_DOMAINS';
export const BlockReasonValues = ['VOLUME', 'DISTINCT_DOMAINS'] as const;

/** Block when (U >= minUnregistered and U/T >= minUnregisteredRatio) or (D >= minDistinctDomains and U >= minUnregisteredWithDistinct). */
export interface Thresholds {
  /** U threshold of the volume rule. */
  readonly minUnregistered: number;
  /** U/T threshold of the volume rule. */
  readonly minUnregisteredRatio: number;
  /** D threshold of the distinct-domains rule. */
  readonly minDistinctDomains: number;
  /** U threshold of the distinct-domains rule. */
  readonly minUnregisteredWithDistinct: number;
}

/** Messages seen from one unregistered domain. */
export interface DomainVolume {
  /** Normalized sender domain. */
  readonly domain: string;
  /** Messages from it while tracked in the window. */
  readonly messages: number;
}

/** Unregistered messages that arrived on one connector. */
export interface ConnectorVolume {
  /** The connector ("unknown" when the relay did not name one). */
  readonly connectorId: string;
  /** Unregistered messages that arrived on it while tracked in the window. */
  readonly messages: number;
  /** When the connector was created, when known. */
  readonly createdAt: null | number;
  /** T of the connector: all messages that arrived on it in the window (0 in blocks decided before connectors were scored). */
  readonly total: number;
  /** D of the connector: distinct unregistered sender domains that arrived on it in the window (exact up to the tracking cap). */
  readonly distinctUnregisteredDomains: number;
}

/** What the policy saw when it decided. */
export interface BlockEvidence {
  /** Start of the sliding window (inclusive). */
  readonly windowStart: number;
  /** End of the sliding window (exclusive). */
  readonly windowEnd: number;
  /** U: messages from unregistered domains on relay paths ONPREM and APPLICATION in the window. */
  readonly unregistered: number;
  /** F: messages from unregistered domains on relay path FORWARDED in the window. */
  readonly forwardedUnregistered: number;
  /** T: all messages in the window, every path and class. */
  readonly total: number;
  /** D: distinct unregistered sender domains in the window (exact up to the tracking cap). */
  readonly distinctUnregisteredDomains: number;
  /** The thresholds in force for this tenant when it was blocked. */
  readonly thresholds: Thresholds;
  /** The unregistered sender domains that carried the most messages, most first. */
  readonly topDomains: readonly DomainVolume[];
  /** The connectors that carried unregistered mail, most first. */
  readonly connectors: readonly ConnectorVolume[];
}

/** TENANT: the tenant's unregistered mail is refused whatever connector it arrives on. CONNECTOR: only unregistered mail arriving on one of connectorIds is refused; the tenant's other connectors keep relaying. */
export type BlockScope = 'TENANT' | 'CONNECTOR';
export const BlockScopeValues = ['TENANT', 'CONNECTOR'] as const;

/** The policy's decision to block a tenant, with the evidence an operator needs. */
export interface TenantBlocked {
  /** Deterministic id derived from the tenant and the triggering window's end. */
  readonly blockId: string;
  /** Whether the block is enforced. */
  readonly mode: PolicyMode;
  /** Which rule of the policy fired. */
  readonly reason: BlockReason;
  /** Version of the policy that decided. */
  readonly policyVersion: string;
  /** True when the tenant was on probation (halved thresholds) after a self-service unblock. */
  readonly probation: boolean;
  /** The window counters and what carried the volume. */
  readonly evidence: BlockEvidence;
  /** What the block covers. */
  readonly scope: BlockScope;
  /** The blocked connectors when scope = CONNECTOR (empty for a tenant-scoped block). */
  readonly connectorIds: readonly string[];
  /** Why the policy chose this scope, in an operator's words (empty in blocks decided before scopes). */
  readonly scopeReason: string;
  /** The connector-scoped block of the same episode that this tenant-scoped block widened (spam moved to another connector, or an operator widened it). */
  readonly widenedFrom: null | string;
  /** Connectors lifted from the block this one restates: a per-connector lift publishes the block that remains, in a new episode generation, so the compacted topic keeps it as the tenant's state. */
  readonly liftedConnectorIds: readonly string[];
}

/** OPERATOR: lifted by an operator. SELF_SERVICE: lifted by the tenant admin after the system's checks passed. */
export type UnblockSource = 'OPERATOR' | 'SELF_SERVICE';
export const UnblockSourceValues = ['OPERATOR', 'SELF_SERVICE'] as const;

/** The remediation steps of the unblock procedure. */
export interface Attestations {
  /** Every domain the tenant sends from is registered as an accepted domain. */
  readonly domainsRegistered: boolean;
  /** Inbound connectors were reviewed and unknown ones removed. */
  readonly connectorsReviewed: boolean;
  /** The on-premises servers were secured. */
  readonly serversSecured: boolean;
}

/** A block was lifted after remediation. */
export interface TenantUnblocked {
  /** The block that was lifted. */
  readonly blockId: string;
  /** Who lifted the block. */
  readonly source: UnblockSource;
  /** The subject who lifted it. */
  readonly actor: string;
  /** Support ticket reference. */
  readonly ticket: null | string;
  /** What the requester attested. */
  readonly attestations: Attestations;
  /** Until when the tenant's thresholds are halved (self-service unblocks). */
  readonly probationUntil: null | number;
}

/** A tenant was blocked from sending from unregistered domains, or the block was lifted. Topic relayguard.tenant-blocks.v1 (compacted), key = tenantId, so the latest event is the tenant's current block state. */
export interface TenantBlockEvent {
  /** Unique id of this event; for a block it equals the deterministic block id, so a replay or a duplicate publish yields the same id. */
  readonly eventId: string;
  /** The tenant. */
  readonly tenantId: string;
  /** Event time of the change: the triggering message's time for a block, the operator's action time for an unblock. */
  readonly occurredAt: number;
  /** Which of blocked and unblocked is set. */
  readonly kind: BlockEventKind;
  /** Set when kind = BLOCKED. */
  readonly blocked: null | TenantBlocked;
  /** Set when kind = UNBLOCKED. */
  readonly unblocked: null | TenantUnblocked;
}

/** Per-tenant policy overrides. Topic relayguard.tenant-policies.v1 (compacted), key = tenantId; the latest event replaces earlier ones. */
export interface TenantPolicyChanged {
  /** Unique id of this change. */
  readonly eventId: string;
  /** The tenant. */
  readonly tenantId: string;
  /** Mode override; null keeps the global mode. */
  readonly mode: null | PolicyMode;
  /** Override of the U threshold of the volume rule. */
  readonly minUnregistered: null | number;
  /** Override of the U/T threshold of the volume rule. */
  readonly minUnregisteredRatio: null | number;
  /** Override of the D threshold of the distinct-domains rule. */
  readonly minDistinctDomains: null | number;
  /** Override of the U threshold of the distinct-domains rule. */
  readonly minUnregisteredWithDistinct: null | number;
  /** Override of the weight of FORWARDED unregistered mail in U (0 allows it). */
  readonly forwardedWeight: null | number;
  /** When the change was made. */
  readonly occurredAt: number;
  /** Who made the change. */
  readonly actor: string;
}

/** DELIVERED: the receiver answered 2xx. RETRYING: an attempt failed and another follows. DEAD_LETTERED: attempts exhausted or refused; the event is in relayguard.webhooks.dlq.v1. */
export type WebhookDeliveryStatus = 'DELIVERED' | 'RETRYING' | 'DEAD_LETTERED';
export const WebhookDeliveryStatusValues = ['DELIVERED', 'RETRYING', 'DEAD_LETTERED'] as const;

/** The webhook delivery log: an attempt's outcome for one endpoint and one event. Topic relayguard.webhook-deliveries.v1 (retained, not compacted), key = endpointId; the latest record of an endpoint's event (and replay) is where its delivery stands. */
export interface WebhookDelivery {
  /** The endpoint delivered to. */
  readonly endpointId: string;
  /** The CloudEvent's id (the tenant-blocks event's id, also the Idempotency-Key). */
  readonly eventId: string;
  /** The CloudEvent's type, e.g. io.relayguard.tenant.blocked.v1. */
  readonly eventType: string;
  /** The tenant the event is about. */
  readonly tenantId: string;
  /** Where the delivery stands after this attempt. */
  readonly status: WebhookDeliveryStatus;
  /** Attempts made so far, this one included. */
  readonly attempts: number;
  /** Why the last attempt failed (a status code, a network error code, the destination check), never a URL or a secret; null when delivered. */
  readonly lastError: null | string;
  /** The replay this delivery belongs to; null for a delivery as the change happened. */
  readonly replayId: null | string;
  /** When the attempt ended. */
  readonly occurredAt: number;
}

/** UPSERTED creates or replaces the endpoint; REMOVED deletes it. */
export type WebhookEndpointChange = 'UPSERTED' | 'REMOVED';
export const WebhookEndpointChangeValues = ['UPSERTED', 'REMOVED'] as const;

/** Which block changes an endpoint receives. */
export type WebhookEventKind = 'BLOCKED' | 'UNBLOCKED';
export const WebhookEventKindValues = ['BLOCKED', 'UNBLOCKED'] as const;

/** A webhook endpoint registered, changed or removed through the admin API. Topic relayguard.webhook-endpoints.v1 (compacted), key = endpointId; the latest event is the endpoint. It carries the signing secret: only the admin service and the webhook deliverer may read the topic (SECURITY.md). */
export interface WebhookEndpointChanged {
  /** Unique id of this change. */
  readonly eventId: string;
  /** The endpoint's id: 1-63 lower-case letters, digits or hyphens. It names the endpoint in metrics, logs and dead letters. */
  readonly endpointId: string;
  /** What happened to the endpoint. */
  readonly change: WebhookEndpointChange;
  /** Where deliveries are posted (http or https); null when removed. */
  readonly url: null | string;
  /** The HMAC-SHA256 signing secret shared with the receiver; null when removed. */
  readonly secret: null | string;
  /** The kinds of change posted to the endpoint. */
  readonly events: readonly WebhookEventKind[];
  /** Only these tenants' changes; null for every tenant. */
  readonly tenants: null | readonly string[];
  /** When the endpoint was first registered. */
  readonly createdAt: number;
  /** When this change was made. */
  readonly occurredAt: number;
  /** Who made this change. */
  readonly actor: string;
}

/** One event an operator asked to deliver again to one endpoint (`relayguard webhooks replay`): the admin service publishes them in order, the webhook deliverer delivers them as it delivers changes. Topic relayguard.webhook-replays.v1 (retained, not compacted), key = tenantId. */
export interface WebhookReplay {
  /** The replay this event belongs to (one per replay request). */
  readonly replayId: string;
  /** The endpoint to deliver to. */
  readonly endpointId: string;
  /** The tenant the event is about. */
  readonly tenantId: string;
  /** The CloudEvent's id. */
  readonly eventId: string;
  /** The CloudEvent's type, e.g. io.relayguard.tenant.blocked.v1. */
  readonly eventType: string;
  /** The CloudEvent (structured JSON) to post, as first delivered. */
  readonly cloudEvent: string;
  /** When the replay was requested. */
  readonly requestedAt: number;
  /** Who requested the replay. */
  readonly actor: string;
}
