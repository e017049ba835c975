// `relayguard topics` against the real Apache Kafka broker and the Schema Registry double: the topics created by
// the command itself, read back with DescribeConfigs, drift reported with exit 4, a refused creation with exit 1.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import kafkajs from 'kafkajs';
import { ensureTopicsAndSchemas, renderTopics } from '../../services/cli/commands/topics.js';
import { ExitCode } from '../../services/cli/exit-codes.js';
import { BLOCK_HISTORY_MS, CompactedTopics, TopicSchemas, Topics } from '../../services/core/topics.js';
import { loadConfig } from '../../services/platform/config.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { silentLogger } from '../../services/platform/logger.js';
import { type KafkaCluster, startKafkaCluster, withKafkaAdmin } from '../support/kafka-broker.js';
import { kafkaEnv } from '../support/production-stack.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { waitFor } from '../support/tether.js';

describe('relayguard topics', () => {
  it('plans every topic: scaled partitions for message-submitted and its DLQ, compaction for state', () => {
    const plan = plannedTopics({ partitions: 24, statePartitions: 3, replicationFactor: 3 });
    assert.deepEqual(plan.map((spec) => spec.topic).sort(), Object.values(Topics).sort());
    for (const spec of plan) {
      const scaled = spec.topic === Topics.messageSubmitted || spec.topic === Topics.messageSubmittedDlq;
      assert.equal(spec.partitions, scaled ? 24 : 3, spec.topic);
      assert.equal(spec.replicationFactor, 3);
      assert.equal(spec.configs['min.insync.replicas'], '2', `${spec.topic}: acks=all survives one broker`);
      assert.equal(
        spec.configs['cleanup.policy'],
        CompactedTopics.includes(spec.topic) ? 'compact' : 'delete',
        spec.topic,
      );
      // The self-service rule reads a tenant's earlier blocks back from this topic for BLOCK_HISTORY_MS.
      assert.equal(
        spec.configs['min.compaction.lag.ms'],
        spec.topic === Topics.tenantBlocks ? String(BLOCK_HISTORY_MS) : undefined,
        spec.topic,
      );
      // Every compacted topic keeps a tombstone readable for a day, and rolls daily so the cleaner reaches it.
      const compacted = CompactedTopics.includes(spec.topic);
      assert.equal(spec.configs['delete.retention.ms'], compacted ? '86400000' : undefined, spec.topic);
      assert.equal(
        spec.configs['segment.ms'] !== undefined,
        compacted || spec.topic === Topics.messageSubmitted,
      );
      assert.equal(spec.configs['retention.ms'] === undefined, compacted, spec.topic);
    }
    const events = plan.find((spec) => spec.topic === Topics.messageSubmitted)!.configs;
    assert.equal(events['retention.ms'], '86400000', 'a day by default');
    assert.equal(events['compression.type'], 'gzip', 'the codec kafkajs reads without a plugin');
    const longer = plannedTopics({
      partitions: 1,
      statePartitions: 1,
      replicationFactor: 1,
      messageRetentionMs: 7_200_000,
    });
    assert.equal(
      longer.find((spec) => spec.topic === Topics.messageSubmitted)!.configs['retention.ms'],
      '7200000',
    );
    const single = plannedTopics({ partitions: 1, statePartitions: 1, replicationFactor: 1 });
    assert.ok(single.every((spec) => spec.configs['min.insync.replicas'] === '1'));
  });

  // Each test has a broker of its own: relayguard's topic names are fixed.
  describe('against the real broker', () => {
    let registry: SchemaRegistryDouble;
    before(async () => {
      registry = await startSchemaRegistry();
    });
    after(() => registry.stop());

    async function withBroker(run: (env: Record<string, string>, kafka: KafkaCluster) => Promise<void>) {
      const kafka = await startKafkaCluster();
      try {
        await run(
          {
            ...kafkaEnv(kafka.bootstrapServers),
            SCHEMA_REGISTRY_URL: registry.url,
            RELAYGUARD_PARTITIONS: '6',
          },
          kafka,
        );
      } finally {
        await kafka.stop();
      }
    }

    const options = { statePartitions: 2, json: false };

    it('creates every topic, reads back its configs, registers every schema with BACKWARD_TRANSITIVE, exits 0; again: all exist', async () => {
      await withBroker(async (env, kafka) => {
        const result = await ensureTopicsAndSchemas(
          loadConfig(env),
          { ...options, retentionHours: 6 },
          silentLogger,
        );
        assert.equal(result.exitCode, ExitCode.OK, renderTopics(result));
        for (const report of result.topics) {
          assert.equal(report.status, 'created', report.topic);
          assert.equal(report.replicationFactor, 1, 'the default: the number of brokers, at most 3');
          // Read back from the broker with DescribeConfigs, not copied from the plan.
          assert.equal(report.cleanupPolicy, CompactedTopics.includes(report.topic) ? 'compact' : 'delete');
          assert.equal(report.minInsyncReplicas, '1', report.topic);
        }
        const events = result.topics.find((r) => r.topic === Topics.messageSubmitted)!;
        assert.equal(events.retentionMs, String(6 * 3_600_000), '--retention-hours 6, read back');
        assert.equal(events.compression, 'gzip');
        assert.equal(result.topics.find((r) => r.topic === Topics.audit)!.retentionMs, '-1');
        // Every planned config as the broker reports it (a typo in a config name would fail the creation instead).
        await withKafkaAdmin(kafka, async (admin) => {
          const { resources } = await admin.describeConfigs({
            includeSynonyms: false,
            resources: Object.values(Topics).map((name) => ({
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name,
            })),
          });
          const plan = plannedTopics({
            partitions: 6,
            statePartitions: 2,
            replicationFactor: 1,
            messageRetentionMs: 6 * 3_600_000,
          });
          for (const spec of plan) {
            const actual = resources.find((r) => r.resourceName === spec.topic)!.configEntries;
            for (const [name, value] of Object.entries(spec.configs)) {
              assert.equal(
                actual.find((e) => e.configName === name)?.configValue,
                value,
                `${spec.topic} ${name}`,
              );
            }
          }
        });
        assert.equal(result.topics.find((r) => r.topic === Topics.messageSubmitted)?.partitions, 6);
        assert.equal(result.schemas.length, Object.keys(TopicSchemas).length);
        for (const { subject } of result.schemas) {
          const config = await fetch(`${registry.url}/config/${subject}`).then((r) => r.json());
          assert.deepEqual(config, { compatibilityLevel: 'BACKWARD_TRANSITIVE' }, subject);
        }
        assert.match(
          renderTopics(result),
          /relayguard\.tenant-blocks\.v1\s+created\s+2\s+1\s+compact\s+-\s+-\s+1/,
        );
        assert.match(
          renderTopics(result),
          /relayguard\.message-submitted\.v1\s+created\s+6\s+1\s+delete\s+6 h\s+gzip\s+1/,
        );

        // Again: nothing changes, the same schema ids come back.
        const again = await ensureTopicsAndSchemas(
          loadConfig(env),
          { ...options, retentionHours: 6 },
          silentLogger,
        );
        assert.equal(again.exitCode, ExitCode.OK, renderTopics(again));
        assert.ok(again.topics.every((report) => report.status === 'exists'));
        assert.deepEqual(again.schemas, result.schemas);
      });
    });

    it('reports the topics whose partitions, cleanup.policy or min.insync.replicas drifted, and exits 4', async () => {
      await withBroker(async (env, kafka) => {
        assert.equal(
          (await ensureTopicsAndSchemas(loadConfig(env), options, silentLogger)).exitCode,
          ExitCode.OK,
        );
        // An operator changes what the plan says.
        await withKafkaAdmin(kafka, async (admin) => {
          await admin.createPartitions({ topicPartitions: [{ topic: Topics.messageSubmitted, count: 8 }] });
          const set = (topic: string, name: string, value: string) =>
            admin.alterConfigs({
              validateOnly: false,
              resources: [
                { type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name, value }] },
              ],
            });
          await set(Topics.tenantBlocks, 'cleanup.policy', 'delete');
          await set(Topics.audit, 'min.insync.replicas', '2');
          await set(Topics.messageSubmitted, 'retention.ms', '1800000');
          await set(Topics.connectors, 'delete.retention.ms', '60000');
          // The broker applies a change once the controller's metadata reaches it.
          await waitFor(
            async () => {
              const { topics } = await admin.fetchTopicMetadata({ topics: [Topics.messageSubmitted] });
              const { resources } = await admin.describeConfigs({
                includeSynonyms: false,
                resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: Topics.audit }],
              });
              const minInsync = resources[0]?.configEntries.find(
                (e) => e.configName === 'min.insync.replicas',
              );
              const { resources: connectors } = await admin.describeConfigs({
                includeSynonyms: false,
                resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: Topics.connectors }],
              });
              const tombstones = connectors[0]?.configEntries.find(
                (e) => e.configName === 'delete.retention.ms',
              );
              return (
                topics[0]?.partitions.length === 8 &&
                minInsync?.configValue === '2' &&
                tombstones?.configValue === '60000'
              );
            },
            { timeoutMs: 30_000, description: 'the changes to reach the broker' },
          );
        });

        const result = await ensureTopicsAndSchemas(loadConfig(env), options, silentLogger);
        assert.equal(result.exitCode, ExitCode.UNEXPECTED_RESULT, renderTopics(result));
        const problems = (topic: string) => {
          const report = result.topics.find((r) => r.topic === topic)!;
          assert.equal(report.status, 'differs', topic);
          return report.problems.join();
        };
        assert.match(problems(Topics.messageSubmitted), /has 8 partitions, planned 6/);
        assert.match(
          problems(Topics.messageSubmitted),
          /retention\.ms=1800000 \(30 min\), planned 86400000 \(1 d\): events are deleted sooner than planned/,
        );
        assert.match(
          problems(Topics.connectors),
          /delete\.retention\.ms=60000 \(1 min\).*may miss a tombstone/,
        );
        assert.match(
          problems(Topics.tenantBlocks),
          /cleanup\.policy=delete, planned compact: state would be deleted by retention/,
        );
        assert.match(
          problems(Topics.audit),
          /min\.insync\.replicas=2, planned 1: writes stop when one broker fails/,
        );
        assert.equal(result.topics.filter((r) => r.status === 'differs').length, 4);
      });
    });

    it('refuses a retention shorter than the window and its grace, naming the flag and the variables', async () => {
      const config = loadConfig({
        ...kafkaEnv(['127.0.0.1:1']),
        SCHEMA_REGISTRY_URL: registry.url,
        RELAYGUARD_WINDOW_MINUTES: '90',
      });
      await assert.rejects(
        ensureTopicsAndSchemas(config, { ...options, retentionHours: 1.5 }, silentLogger),
        (error: Error) =>
          error instanceof InvalidArgumentError &&
          /^--retention-hours: 1\.5 h is shorter than the window and its grace \(95 min, RELAYGUARD_WINDOW_MINUTES \+ RELAYGUARD_GRACE_MINUTES\)/.test(
            error.message,
          ),
      );
    });

    it('reports the topics the broker refused to create, and exits 1', async () => {
      await withBroker(async (env) => {
        // Three replicas on one broker: the broker refuses (INVALID_REPLICATION_FACTOR).
        const result = await ensureTopicsAndSchemas(
          loadConfig(env),
          { ...options, replicationFactor: 3 },
          silentLogger,
        );
        assert.equal(result.exitCode, ExitCode.FAILURE);
        for (const report of result.topics) {
          assert.equal(report.status, 'failed', report.topic);
          assert.match(report.problems.join(), /could not be created: replication.factor is invalid/i);
        }
      });
    });
  });
});
