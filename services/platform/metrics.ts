// relayguard's Prometheus metrics. One registry per process (not prom-client's global one, so tests can run
// several pipelines side by side). Names follow Prometheus conventions: relayguard_ prefix, base units,
// _total for counters; no label takes values that grow with tenants, domains or addresses.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds a batch, or a flush of the batches' windows, may take: from a millisecond to a few seconds. */
const BATCH_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  readonly registry = new Registry();

  readonly eventsConsumed = new Counter({
    name: 'relayguard_events_consumed_total',
    help: 'Events consumed, by topic and outcome (counted, late, before-reset, duplicate: redelivered, republished: the same event id again, dead-lettered; on the state topics applied, invalid, tombstone: a removed domain or connector).',
    labelNames: ['topic', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly eventsProduced = new Counter({
    name: 'relayguard_events_produced_total',
    help: 'Events published, by topic and outcome (ok, error).',
    labelNames: ['topic', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly messagesClassified = new Counter({
    name: 'relayguard_messages_classified_total',
    help: 'Scored messages by class: registered, unregistered, forwarded, unknown.',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'relayguard_events_dead_lettered_total',
    help: 'Poison events sent to the dead-letter topic, by reason (error code).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly lateEvents = new Counter({
    name: 'relayguard_late_events_total',
    help: 'Events that arrived later than the grace period and were not counted.',
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'relayguard_batch_size_events',
    help: 'Events per processed batch.',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2500],
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: 'relayguard_batch_duration_seconds',
    help: 'Time to process one batch: decode, classify, window update, publish, store.',
    buckets: BATCH_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly storeDuration = new Histogram({
    name: 'relayguard_window_store_duration_seconds',
    help: 'Window store round trips (Redis commands in production), by operation (load, versions: the fence before a block, save).',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly windowCacheLookups = new Counter({
    name: 'relayguard_window_cache_lookups_total',
    help: 'Scorer window cache lookups, one per tenant per batch, by result (hit, miss: loaded from the store).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly windowCacheEvictions = new Counter({
    name: 'relayguard_window_cache_evictions_total',
    help: 'Windows evicted from the scorer window cache at its bound (saved first when dirty).',
    registers: [this.registry],
  });

  readonly windowCacheExpiredSaves = new Counter({
    name: 'relayguard_window_cache_expired_saves_total',
    help: 'Cached windows whose Redis key had expired (or was evicted) when saved: written afresh, the partition kept.',
    registers: [this.registry],
  });

  readonly windowCacheTenants = new Gauge({
    name: 'relayguard_window_cache_tenants',
    help: 'Tenants whose windows the scorer window cache holds.',
    registers: [this.registry],
  });

  readonly windowFlushDuration = new Histogram({
    name: 'relayguard_window_flush_duration_seconds',
    help: 'Time to save the dirty windows of the scorer window cache before a commit (or after a batch).',
    buckets: BATCH_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly windowsFlushed = new Histogram({
    name: 'relayguard_window_flush_windows',
    help: 'Dirty windows saved per flush of the scorer window cache.',
    buckets: [1, 10, 100, 500, 1000, 5000, 10000, 50000],
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'relayguard_consumer_lag_events',
    help: 'Records left in a partition after the last fetched batch.',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly blocksIssued = new Counter({
    name: 'relayguard_blocks_issued_total',
    help: 'Block decisions published, by source (policy) and mode (ENFORCE, MONITOR).',
    labelNames: ['source', 'mode'] as const,
    registers: [this.registry],
  });

  readonly blocksLifted = new Counter({
    name: 'relayguard_blocks_lifted_total',
    help: 'Blocks lifted, by source (OPERATOR, SELF_SERVICE).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly bouncesOverAllowance = new Counter({
    name: 'relayguard_blocked_bounces_rejected_total',
    help: "Null-sender messages of blocked tenants rejected because the tenant's hourly bounce allowance was spent.",
    registers: [this.registry],
  });

  readonly domainVerificationLost = new Gauge({
    name: 'relayguard_domain_verification_lost',
    help: 'Verified accepted domains whose TXT record was missing at the last re-check (still registered).',
    registers: [this.registry],
  });

  readonly tenantsBlocked = new Gauge({
    name: 'relayguard_tenants_blocked',
    help: 'Tenants whose enforce-mode block is in force now.',
    registers: [this.registry],
  });

  readonly decisions = new Counter({
    name: 'relayguard_decisions_total',
    help: 'Relay decisions by stage (RCPT, http) and action (REJECT, ACCEPT, TEMPFAIL).',
    labelNames: ['stage', 'action'] as const,
    registers: [this.registry],
  });

  readonly blockRefusals = new Counter({
    name: 'relayguard_block_refusals_total',
    help: 'Unregistered senders refused under a block, by stage (RCPT, http) and the scope of the block (TENANT, CONNECTOR).',
    labelNames: ['stage', 'scope'] as const,
    registers: [this.registry],
  });

  readonly fallbackAnswers = new Counter({
    name: 'relayguard_fallback_answers_total',
    help: 'Decisions answered with the configured fallback because the enforcer was not ready.',
    registers: [this.registry],
  });

  readonly unknownClients = new Counter({
    name: 'relayguard_unknown_clients_total',
    help: 'Relay requests whose client matched no connector.',
    registers: [this.registry],
  });

  readonly policyRequests = new Counter({
    name: 'relayguard_policy_requests_total',
    help: 'Postfix policy requests answered, by stage (protocol_state) and action (DUNNO, REJECT, DEFER).',
    labelNames: ['stage', 'action'] as const,
    registers: [this.registry],
  });

  readonly policyConnections = new Gauge({
    name: 'relayguard_policy_connections',
    help: 'Open Postfix policy connections.',
    registers: [this.registry],
  });

  readonly policyProtocolErrors = new Counter({
    name: 'relayguard_policy_protocol_errors_total',
    help: 'Policy connections dropped without a reply (Postfix then applies its default_action), by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  // Slow or excess HTTP clients dropped to keep file descriptors for the policy port (same process).
  readonly httpConnectionsDropped = new Counter({
    name: 'relayguard_http_connections_dropped_total',
    help: 'HTTP connections closed by the server: connection-limit (refused on accept, RELAYGUARD_HTTP_MAX_CONNECTIONS) or timeout (headers or request not complete in time).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  // A relay refused here fails open without a word to relayguard's operators: this is where it shows.
  readonly decisionRequestsRefused = new Counter({
    name: 'relayguard_decision_requests_refused_total',
    help: 'Decision API requests refused before a decision, by status code (401 no valid token, 403 wrong role, 429 rate limited).',
    labelNames: ['status_code'] as const,
    registers: [this.registry],
  });

  readonly adminRequests = new Counter({
    name: 'relayguard_admin_requests_total',
    help: 'Admin API requests, by route pattern (never the raw URL), method and status code.',
    labelNames: ['route', 'method', 'status_code'] as const,
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: 'relayguard_ready',
    help: '1 when the service has caught up with the compacted topics and answers from full state.',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });

  readonly tenantsMonitorBlocked = new Gauge({
    name: 'relayguard_tenants_monitor_blocked',
    help: 'Tenants in monitor mode whose latest decision would have blocked them (published, not enforced).',
    registers: [this.registry],
  });

  // The latency objective's histogram: SLO buckets at 1, 5 and 25 ms (deploy/prometheus/alerts.yml).
  readonly policyRequestDuration = new Histogram({
    name: 'relayguard_policy_request_duration_seconds',
    help: 'Time to answer one relay policy request (Postfix policy protocol or HTTP decision API), by stage.',
    labelNames: ['stage'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  // Endpoint ids come from RELAYGUARD_WEBHOOKS: a few, chosen by the operator.
  readonly webhookDeliveries = new Counter({
    name: 'relayguard_webhook_deliveries_total',
    help: 'Webhook delivery attempts by endpoint and outcome: delivered, retried (failed, tried again), dead_lettered (attempts exhausted or refused by the receiver or the destination check).',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Set by the enforcer's event spool when RELAYGUARD_SPOOL_DIR turns it on; read at each scrape. */
  spoolDepth:
    | (() => { readonly events: number; readonly bytes: number; readonly oldestAgeSeconds: number })
    | undefined;

  readonly spoolEvents: Gauge = new Gauge({
    name: 'relayguard_spool_events',
    help: 'END-OF-MESSAGE events in the enforcer spool, answered to the relay and not yet published.',
    registers: [this.registry],
    collect: () => this.spoolEvents.set(this.spoolDepth?.().events ?? 0),
  });

  readonly spoolBytes: Gauge = new Gauge({
    name: 'relayguard_spool_bytes',
    help: 'Bytes on disk of the events in the enforcer spool (bounded by relayguard_spool_max_bytes).',
    registers: [this.registry],
    collect: () => this.spoolBytes.set(this.spoolDepth?.().bytes ?? 0),
  });

  readonly spoolMaxBytes = new Gauge({
    name: 'relayguard_spool_max_bytes',
    help: 'The enforcer spool bound (RELAYGUARD_SPOOL_MAX_BYTES); 0 when the spool is off.',
    registers: [this.registry],
  });

  readonly spoolOldestAge: Gauge = new Gauge({
    name: 'relayguard_spool_oldest_event_age_seconds',
    help: 'How long the oldest event in the enforcer spool has waited for the event log; 0 when it is empty.',
    registers: [this.registry],
    collect: () => this.spoolOldestAge.set(this.spoolDepth?.().oldestAgeSeconds ?? 0),
  });

  readonly spoolFull = new Counter({
    name: 'relayguard_spool_full_total',
    help: 'END-OF-MESSAGE requests met by a full enforcer spool, by the action taken (accept: relayed uncounted, defer: the relay retries later).',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'relayguard_' });
  }
}
