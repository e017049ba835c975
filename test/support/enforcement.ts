// The pipeline (embedded, or on the production adapters) with relayguard's Postfix policy server in front of it,
// and the tenants a test needs: what the policy-server, decision-API and Postfix tests share.
import type { PolicyAttributes, PolicyClient } from '../../services/cli/simulation/policy-client.js';
import type { RelayPath } from '../../services/core/contracts.generated.js';
import { BLOCK_REPLY } from '../../services/core/decision.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { DEFAULT_POLICY, type PolicyOverrides } from '../../services/core/policy.js';
import type { ContractTopic, TopicContracts } from '../../services/core/topics.js';
import { Enforcer } from '../../services/enforcer/enforcer.js';
import type { PolicyServer, PolicyServerOptions } from '../../services/enforcer/postfix/server.js';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../services/platform/logger.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import type { Metrics } from '../../services/platform/metrics.js';
import type { Clock, EventLog, LogRecord } from '../../services/platform/ports.js';
import { startLoopbackPolicyServer } from './loopback-policy-server.js';
import { OPERATOR, type Pipeline, startPipeline, startProductionPipeline } from './pipeline-driver.js';
import type { ProductionStack } from './production-stack.js';
import { waitFor } from './tether.js';

export interface TestTenant {
  readonly tenantId: string;
  readonly acceptedDomain: string;
  readonly senderIpRange: string;
  readonly relayPath?: RelayPath;
  readonly policy?: PolicyOverrides;
}

/** Registers a tenant's accepted domain (subdomains included) and its connector, and its policy overrides. */
export async function onboard(driver: Pick<Pipeline, 'runtime'>, tenant: TestTenant): Promise<void> {
  const admin = driver.runtime.admin!;
  await admin.putAcceptedDomain(OPERATOR, tenant.tenantId, tenant.acceptedDomain, true);
  await admin.putConnector(OPERATOR, tenant.tenantId, `${tenant.tenantId}-connector`, {
    relayPath: tenant.relayPath ?? 'ONPREM',
    senderIpRanges: [tenant.senderIpRange],
    enabled: true,
  });
  if (tenant.policy) await admin.setPolicy(OPERATOR, tenant.tenantId, tenant.policy);
}

/** A tenant whose accepted domain is named after it (<tenantId>.example), relaying from one range. */
export function exampleTenant(tenantId: string, senderIpRange: string, policy?: PolicyOverrides): TestTenant {
  return { tenantId, acceptedDomain: `${tenantId}.example`, senderIpRange, ...(policy && { policy }) };
}

/** A tenant blocks after `unregistered` unregistered messages (and nothing else can trigger sooner). */
export function blockAfter(unregistered: number): PolicyOverrides {
  return {
    minUnregistered: unregistered,
    minUnregisteredRatio: 0,
    // The distinct-domains rule stays out of the way: D at most at its cap, and a U it never reaches.
    minDistinctDomains: DEFAULT_POLICY.distinctDomainCap,
    minUnregisteredWithDistinct: 1_000_000,
  };
}

export interface EnforcementHarness {
  readonly driver: Pipeline;
  readonly policy: PolicyServer;
  stop(): Promise<void>;
}

export interface EnforcementOptions {
  readonly policy?: Partial<PolicyServerOptions>;
  readonly clock?: number;
  /** Kafka (mock cluster), Schema Registry (double) and Redis: the production adapters. Default: embedded. */
  readonly stack?: ProductionStack;
  /** Configuration variables on top of the defaults (e.g. RELAYGUARD_DNS_SERVERS). */
  readonly env?: Record<string, string>;
}

export async function startEnforcement(options: EnforcementOptions = {}): Promise<EnforcementHarness> {
  const driver = options.stack
    ? await startProductionPipeline(options.stack, options.env, options.clock)
    : await startPipeline(options.env, options.clock);
  const runtime = driver.runtime;
  const policy = await startLoopbackPolicyServer(runtime.enforcer!, runtime.metrics, options.policy);
  return {
    driver,
    policy,
    async stop() {
      await policy.close();
      await driver.stop();
    },
  };
}

/** The policy action a relay gets for a blocked tenant's unregistered sender. */
export const REJECTED = `${BLOCK_REPLY.code} ${BLOCK_REPLY.enhancedCode} ${BLOCK_REPLY.text}`;

/**
 * Gets a tenant blocked through its relay: `count` messages accepted at END-OF-MESSAGE from `clientAddress`
 * (unregistered senders unless `sender` says otherwise), then waits until the enforcer's directory has the block.
 * The tenant's policy must block after `count` (blockAfter).
 */
export async function blockThroughRelay(
  harness: EnforcementHarness,
  relay: PolicyClient,
  tenantId: string,
  clientAddress: string,
  { count = 3, sender = (i: number) => `x@spam${i}.example` } = {},
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const answer = await relay.request(endOfMessage(clientAddress, sender(i), `${tenantId}-${i}`));
    if (answer !== 'DUNNO') throw new Error(`END-OF-MESSAGE answered ${answer}, not DUNNO`);
  }
  await harness.driver.settle();
  await waitFor(() => harness.driver.runtime.directory.tenant(tenantId)?.block, {
    description: `${tenantId} to be blocked`,
  });
}

/** A counter's value from the runtime's registry (0 when the label set was never incremented). */
export async function metricValue(
  driver: Pipeline,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = (await driver.runtime.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([key, value]) => String(v.labels[key]) === value))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Every record on a topic, as stored, whichever the event log (a group-less read up to the end). */
export async function readRecords(log: EventLog, topic: string): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const reader = await log.subscribe({
    groupId: null,
    topics: [topic],
    handleBatch: async (batch) => {
      records.push(...batch.records);
    },
  });
  await reader.caughtUp;
  await reader.stop();
  return records;
}

/** Every event on a topic, decoded, whichever the event log. */
export async function readTopic<T extends ContractTopic>(
  driver: Pipeline,
  topic: T,
): Promise<TopicContracts[T][]> {
  const records = await readRecords(driver.log, topic);
  const { codec } = driver.runtime.adapters;
  return Promise.all(records.map((record) => codec.decode(topic, record.value!)));
}

/** An enforcer answering from `directory`, ready (caught up), publishing its events into `log`. */
export function readyEnforcer(
  directory: TenantDirectory,
  metrics: Metrics,
  {
    log = new MemoryEventLog({ clock: systemClock }),
    clock = systemClock,
  }: { log?: EventLog; clock?: Clock } = {},
): Enforcer {
  const enforcer = new Enforcer({
    directory,
    log,
    codec: new EmbeddedCodec(),
    clock,
    logger: silentLogger,
    metrics,
    notReadyFallback: 'accept',
    blockedBouncesPerHour: 100,
  });
  enforcer.markReady();
  return enforcer;
}

/** A directory holding one enabled ONPREM connector per tenant, identified by its sender range. */
export function directoryWithConnectors(
  connectors: readonly { readonly tenantId: string; readonly range: string }[],
  now: number,
): TenantDirectory {
  const directory = new TenantDirectory();
  for (const { tenantId, range } of connectors) {
    directory.apply({
      kind: 'connector',
      event: {
        eventId: `c-${tenantId}`,
        occurredAt: now,
        actor: 'test',
        tenantId,
        connectorId: `${tenantId}-connector`,
        change: 'UPSERTED',
        relayPath: 'ONPREM',
        senderIpRanges: [range],
        tlsCertificateDomain: null,
        enabled: true,
        createdAt: now,
        createdBy: 'test',
        identifiersSince: {},
      },
    });
  }
  return directory;
}

/** A Postfix policy request at RCPT, as smtpd sends it (SMTPD_POLICY_README). */
export function rcpt(clientAddress: string, sender: string): PolicyAttributes {
  return {
    request: 'smtpd_access_policy',
    protocol_state: 'RCPT',
    protocol_name: 'ESMTP',
    client_address: clientAddress,
    client_name: 'unknown',
    sender,
    recipient: 'someone@elsewhere.example',
    recipient_count: 0,
    queue_id: '',
    size: 0,
  };
}

/** A Postfix policy request at END-OF-MESSAGE, from `smtpd_end_of_data_restrictions`. */
export function endOfMessage(clientAddress: string, sender: string, queueId: string): PolicyAttributes {
  return {
    ...rcpt(clientAddress, sender),
    protocol_state: 'END-OF-MESSAGE',
    recipient_count: 2,
    queue_id: queueId,
    size: 4321,
  };
}
