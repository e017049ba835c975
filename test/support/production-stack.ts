// The production components for tests: librdkafka's mock cluster (Kafka protocol) with relayguard's topics,
// the Schema Registry double, and a real redis-server (or a Redis Cluster of them), each on free loopback ports;
// `env` configures relayguard (in process, or a `relayguard scorer` child process) to use them.
import { plannedTopics } from '../../services/platform/kafka/topic-admin.js';
import { type KafkaMock, startKafkaMock } from './kafka-mock.js';
import { type RedisCluster, type StartRedisClusterOptions, startRedisCluster } from './redis-cluster.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from './schema-registry.js';

export interface ProductionStack {
  readonly kafka: KafkaMock;
  readonly registry: SchemaRegistryDouble;
  /** The single Redis; undefined when the stack runs a Redis Cluster instead. */
  readonly redis: RedisServer | undefined;
  readonly redisCluster: RedisCluster | undefined;
  /** The relayguard environment that points at these components. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export interface ProductionStackOptions {
  readonly brokers?: number;
  /** Partitions of the message-submitted topic and its DLQ. */
  readonly partitions?: number;
  /** Extra redis-server arguments (an append-only file, for a Redis that is restarted). */
  readonly redisArgs?: readonly string[];
  /** A Redis Cluster (REDIS_CLUSTER_NODES) instead of the single Redis; `redisArgs` apply to every node. */
  readonly redisCluster?: boolean | Omit<StartRedisClusterOptions, 'args'>;
}

/**
 * The environment that makes relayguard talk to the mock cluster: its Metadata names no controller, so the
 * idempotent producer (InitProducerId goes to the controller) is off; and a group whose last member left
 * makes the next one wait (session timeout - 1 s), so the session timeout is the brokers' minimum.
 */
export function mockClusterEnv(bootstrapServers: readonly string[]): Record<string, string> {
  return {
    KAFKA_BROKERS: bootstrapServers.join(','),
    KAFKA_IDEMPOTENT: 'false',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  };
}

export async function startProductionStack({
  brokers = 3,
  partitions = 3,
  redisArgs = [],
  redisCluster,
}: ProductionStackOptions = {}): Promise<ProductionStack> {
  const starting = [
    startKafkaMock({ brokers }),
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
  // The mock implements no CreateTopics: the topics of `relayguard topics` are created through its launcher.
  for (const spec of plannedTopics({
    partitions,
    statePartitions: 2,
    replicationFactor: Math.min(3, brokers),
  })) {
    await kafka.createTopic(spec.topic, spec.partitions, spec.replicationFactor);
  }
  return {
    kafka,
    registry,
    redis,
    redisCluster: cluster,
    env: {
      ...mockClusterEnv(kafka.bootstrapServers),
      SCHEMA_REGISTRY_URL: registry.url,
      REDIS_URL: redisStarted.url,
      ...(cluster
        ? { REDIS_CLUSTER_NODES: cluster.nodes.map((node) => `${node.host}:${node.port}`).join(',') }
        : {}),
      RELAYGUARD_PARTITIONS: String(partitions),
    },
    async stop() {
      await Promise.all([kafka.stop(), registry.stop(), redisStarted.stop()]);
    },
  };
}
