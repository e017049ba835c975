// Which adapters a process runs on: in-memory ones in embedded mode, Kafka, the Schema Registry and Redis in
// production.

import { RelayguardError } from '../core/errors.js';
import { MINUTE_MS } from '../core/policy.js';
import { BLOCK_HISTORY_MS, CompactedTopics, Topics } from '../core/topics.js';
import { EmbeddedCodec } from '../platform/codec/embedded-codec.js';
import { RegistryCodec } from '../platform/codec/registry-codec.js';
import { type Config, redactUrl } from '../platform/config.js';
import { deferred } from '../platform/deferred.js';
import { KafkaEventLog } from '../platform/kafka/kafka-event-log.js';
import { plannedRetentionMs } from '../platform/kafka/topic-plan.js';
import { keyPartition } from '../platform/key-partition.js';
import type { Logger } from '../platform/logger.js';
import { MemoryEventLog } from '../platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../platform/memory/memory-window-store.js';
import type { CleanupPolicy } from '../platform/memory/partition-log.js';
import type { Clock, EventLog, SchemaCodec, WindowStore } from '../platform/ports.js';
import { RedisWindowStore } from '../platform/redis/redis-window-store.js';

export interface Adapters {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly store: WindowStore;
  /** Where each adapter points, for the startup banner (no secrets). */
  readonly description: Readonly<Record<'log' | 'codec' | 'store', string>>;
  /**
   * Resolves with the error when an adapter failed for good (a Kafka consumer that kafkajs will not restart):
   * the process must then exit non-zero so that its supervisor restarts it.
   */
  readonly fatal?: Promise<Error>;
  /** The partition the log's producer gives a key under the configured partition count (RELAYGUARD_PARTITIONS). */
  readonly keyPartition?: (key: string) => number;
}

/**
 * Records an embedded event log keeps of a topic that is not compacted, over all its partitions: ~60 MB of
 * MessageSubmitted, so a long-running `relayguard all` stays bounded whatever the traffic.
 */
export const EMBEDDED_MAX_RECORDS_PER_TOPIC = 200_000;

/**
 * The embedded log cleans its topics up as the brokers do theirs (`relayguard topics`): state topics keep the
 * latest record per key (tenant-blocks every record of the block history too), the others as long as the brokers
 * keep them (events a day, dead letters 14 days, the audit trail for good) and at most
 * EMBEDDED_MAX_RECORDS_PER_TOPIC records.
 */
function embeddedCleanup(partitions: number): (topic: string) => CleanupPolicy {
  const maxRecords = Math.ceil(EMBEDDED_MAX_RECORDS_PER_TOPIC / partitions);
  return (topic) =>
    CompactedTopics.includes(topic)
      ? { kind: 'compact', minCompactionLagMs: topic === Topics.tenantBlocks ? BLOCK_HISTORY_MS : 0 }
      : { kind: 'delete', maxAgeMs: plannedRetentionMs(topic), maxRecords };
}

export function embeddedAdapters(config: Config, clock: Clock): Adapters {
  const cleanup = embeddedCleanup(config.partitions);
  return {
    log: new MemoryEventLog({ clock, partitions: config.partitions, cleanup }),
    codec: new EmbeddedCodec(),
    store: new MemoryWindowStore({ clock, ttlMs: windowTtlMs(config) }),
    keyPartition: keyPartition(config.partitions),
    description: {
      log: 'embedded in-memory event log',
      codec: 'embedded Avro codec',
      store: 'embedded in-memory window store',
    },
  };
}

/** Kafka, the Schema Registry and Redis, as configured (KAFKA_*, SCHEMA_REGISTRY_URL, REDIS_*). */
export function productionAdapters(config: Config, logger: Logger): Adapters {
  const { kafka, schemaRegistry, redis } = config;
  if (!kafka || !schemaRegistry || !redis) {
    const missing = !kafka ? 'KAFKA_BROKERS' : !schemaRegistry ? 'SCHEMA_REGISTRY_URL' : 'REDIS_URL';
    throw new RelayguardError(
      'INVALID_CONFIG',
      `invalid configuration:\n  ${missing}: the services need Kafka, the Schema Registry and Redis together`,
      { field: missing },
    );
  }
  const fatal = deferred<Error>();
  const clusterNodes = redis.clusterNodes.length > 0 ? redis.clusterNodes : undefined;
  const redisTls = redis.url.startsWith('rediss:') ? ', TLS' : '';
  const durability =
    redis.waitReplicas > 0
      ? `, saves wait for ${redis.waitReplicas} replica(s)`
      : ', saves acknowledged by the master alone';
  const store = new RedisWindowStore({
    url: redis.url,
    clusterNodes,
    ttlMs: windowTtlMs(config),
    waitReplicas: redis.waitReplicas,
    waitTimeoutMs: redis.waitTimeoutMs,
  });
  // ioredis reconnects by itself; its connection errors go to the log rather than to stderr.
  store.client.on('error', (error: Error) =>
    logger.warn({ component: 'redis', err: error }, 'redis connection error; reconnecting'),
  );
  return {
    log: new KafkaEventLog({
      kafka,
      maxWaitTimeMs: kafka.fetchMaxWaitMs,
      logger: logger.child({ component: 'kafka' }),
      onFatal: (error) => fatal.resolve(error),
    }),
    codec: new RegistryCodec(schemaRegistry),
    store,
    description: {
      log: [
        `Kafka at ${kafka.brokers.join(',')} (client id ${kafka.clientId}`,
        kafka.ssl ? ', TLS' : '',
        kafka.sasl ? `, SASL ${kafka.sasl.mechanism}` : '',
        kafka.idempotent
          ? ', idempotent producer'
          : ', producer NOT idempotent (retries may duplicate events)',
        ', acks=all)',
      ].join(''),
      codec: `Schema Registry at ${schemaRegistry.url}${schemaRegistry.auth ? ' (basic auth)' : ''}`,
      store: clusterNodes
        ? `Redis Cluster at ${clusterNodes.map((node) => `${node.host}:${node.port}`).join(',')}${redisTls}${durability}`
        : `Redis at ${redactUrl(redis.url)}${redisTls}${durability}`,
    },
    fatal: fatal.promise,
    keyPartition: keyPartition(config.partitions),
  };
}

/** A window outlives its newest event by the window and the grace period, then costs nothing. */
export function windowTtlMs(config: Config): number {
  return (config.policy.windowMinutes + config.policy.graceMinutes) * MINUTE_MS;
}

/** Closes the clients an adapter set holds (Kafka producer and admin, Redis connections). */
export async function closeAdapters(adapters: Adapters): Promise<void> {
  await adapters.log.close();
  await adapters.store.close();
}
