// The production components for tests: a real Apache Kafka broker (test/support/kafka-broker.ts) with
// relayguard's topics, the Schema Registry double, and a real redis-server (or a Redis Cluster of them), each on
// free loopback ports; `env` configures relayguard (in process, or a `relayguard scorer` child process) to use
// them. The stack has a broker of its own: relayguard's topic and group names are fixed, so two stacks cannot
// share one. `{ mock: true }` puts librdkafka's mock cluster in the broker's place, for the faults only it injects.
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { ensureTopics } from '../../services/platform/kafka/topic-admin.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { type Logger, silentLogger } from '../../services/platform/logger.js';
import { type KafkaCluster, startKafkaCluster, withKafkaAdmin } from './kafka-broker.js';
import { type KafkaMock, startKafkaMock } from './kafka-mock.js';
import { type RedisCluster, type StartRedisClusterOptions, startRedisCluster } from './redis-cluster.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from './schema-registry.js';

export interface ProductionStack<K extends KafkaCluster | KafkaMock = KafkaCluster> {
  readonly kafka: K;
  readonly registry: SchemaRegistryDouble;
  /** The single Redis; undefined when the stack runs a Redis Cluster instead. */
  readonly redis: RedisServer | undefined;
  readonly redisCluster: RedisCluster | undefined;
  /** The relayguard environment that points at these components. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export interface ProductionStackOptions {
  /** Kafka nodes (mock: brokers); default 1 for the real broker, 3 for the mock. */
  readonly brokers?: number;
  /** Partitions of the message-submitted topic and its DLQ. */
  readonly partitions?: number;
  /** Extra redis-server arguments (an append-only file, for a Redis that is restarted). */
  readonly redisArgs?: readonly string[];
  /** How long each real Kafka node may take to listen (a cluster of JVMs starting at once on a busy machine). */
  readonly kafkaStartTimeoutMs?: number;
  /** A Redis Cluster (REDIS_CLUSTER_NODES) instead of the single Redis; `redisArgs` apply to every node. */
  readonly redisCluster?: boolean | Omit<StartRedisClusterOptions, 'args'>;
  /** Whether the stack creates relayguard's topics (false: a fresh cluster, as `relayguard topics` first meets it). */
  readonly createTopics?: boolean;
}

/**
 * The environment that makes relayguard talk to a test broker: a group whose last member left makes the next
 * one wait out the session timeout, so it is the brokers' minimum (group.min.session.timeout.ms).
 */
export function kafkaEnv(bootstrapServers: readonly string[]): Record<string, string> {
  return { KAFKA_BROKERS: bootstrapServers.join(','), KAFKA_SESSION_TIMEOUT_MS: '6000' };
}

/**
 * A Kafka event log configured from `env` (kafkaEnv and what a test adds), its records bytes no registry reads,
 * with a short fetch wait: the tests wait on idle fetches.
 */
export function kafkaLogOn(env: Record<string, string>, logger: Logger = silentLogger): KafkaEventLog {
  return new KafkaEventLog({
    kafka: loadConfig({ ...env, SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1' }).kafka!,
    logger,
    maxWaitTimeMs: 100,
  });
}

/**
 * The environment for librdkafka's mock cluster: its Metadata names no controller, so the idempotent producer
 * (InitProducerId goes to the controller) is off.
 */
export function mockClusterEnv(bootstrapServers: readonly string[]): Record<string, string> {
  return { ...kafkaEnv(bootstrapServers), KAFKA_IDEMPOTENT: 'false' };
}

export function startProductionStack(
  options?: ProductionStackOptions & { mock?: false },
): Promise<ProductionStack<KafkaCluster>>;
export function startProductionStack(
  options: ProductionStackOptions & { mock: true },
): Promise<ProductionStack<KafkaMock>>;
export async function startProductionStack({
  mock = false,
  brokers = mock ? 3 : 1,
  partitions = 3,
  redisArgs = [],
  redisCluster,
  createTopics: withTopics = true,
  kafkaStartTimeoutMs,
}: ProductionStackOptions & { mock?: boolean } = {}): Promise<ProductionStack<KafkaCluster | KafkaMock>> {
  const starting = [
    mock
      ? startKafkaMock({ brokers })
      : startKafkaCluster({ nodes: brokers, startTimeoutMs: kafkaStartTimeoutMs }),
    startSchemaRegistry(),
    redisCluster
      ? startRedisCluster({ ...(redisCluster === true ? {} : redisCluster), args: redisArgs })
      : startRedis({ args: [...redisArgs] }),
  ] as const;
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) {
    // Those that did start are stopped: a redis-server left running would keep the test process alive.
    await Promise.all(
      settled.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)),
    );
    throw failed.reason;
  }
  const [kafka, registry, redisStarted] = await Promise.all(starting);
  const [redis, cluster] = 'nodes' in redisStarted ? [undefined, redisStarted] : [redisStarted, undefined];
  const stop = () => Promise.all([kafka.stop(), registry.stop(), redisStarted.stop()]).then(() => {});
  try {
    if (withTopics) await createTopics(kafka, partitions, brokers);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    kafka,
    registry,
    redis,
    redisCluster: cluster,
    env: {
      ...(mock ? mockClusterEnv : kafkaEnv)(kafka.bootstrapServers),
      SCHEMA_REGISTRY_URL: registry.url,
      REDIS_URL: redisStarted.url,
      ...(cluster
        ? { REDIS_CLUSTER_NODES: cluster.nodes.map((node) => `${node.host}:${node.port}`).join(',') }
        : {}),
      RELAYGUARD_PARTITIONS: String(partitions),
    },
    stop,
  };
}

async function createTopics(kafka: KafkaCluster | KafkaMock, partitions: number, brokers: number) {
  const specs = plannedTopics({ partitions, statePartitions: 2, replicationFactor: Math.min(3, brokers) });
  if (!('nodes' in kafka)) {
    // The mock implements no CreateTopics: the topics are created through its launcher.
    for (const spec of specs) await kafka.createTopic(spec.topic, spec.partitions, spec.replicationFactor);
    return;
  }
  // On the real broker, as `relayguard topics` creates them.
  await withKafkaAdmin(kafka, async (admin) => {
    const failures = (await ensureTopics(admin, specs)).filter((report) => report.status !== 'created');
    if (failures.length > 0) throw new Error(`topics not created: ${JSON.stringify(failures)}`);
  });
}
