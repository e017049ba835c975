// `relayguard topics` against librdkafka's mock cluster and the Schema Registry double. Known limit: the mock
// implements neither CreateTopics nor DescribeConfigs (its metadata names no controller), so creating a topic
// is tested only as the clear failure the command reports there; the plan it would create is checked as data,
// and what it reports about existing topics is checked on topics created through the mock's launcher.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureTopicsAndSchemas, renderTopics } from '../../services/cli/commands/topics.js';
import { ExitCode } from '../../services/cli/exit-codes.js';
import { BLOCK_HISTORY_MS, CompactedTopics, Topics } from '../../services/core/topics.js';
import { loadConfig } from '../../services/platform/config.js';
import { plannedTopics } from '../../services/platform/kafka/topic-admin.js';
import { silentLogger } from '../../services/platform/logger.js';
import { startKafkaMock } from '../support/kafka-mock.js';
import { mockClusterEnv } from '../support/production-stack.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';

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
        CompactedTopics.includes(spec.topic) ? 'compact' : undefined,
        spec.topic,
      );
      // The self-service rule reads a tenant's earlier blocks back from this topic for BLOCK_HISTORY_MS.
      assert.equal(
        spec.configs['min.compaction.lag.ms'],
        spec.topic === Topics.tenantBlocks ? String(BLOCK_HISTORY_MS) : undefined,
        spec.topic,
      );
    }
    const single = plannedTopics({ partitions: 1, statePartitions: 1, replicationFactor: 1 });
    assert.ok(single.every((spec) => spec.configs['min.insync.replicas'] === '1'));
  });

  describe('against the mock cluster', () => {
    let registry: SchemaRegistryDouble;
    before(async () => {
      registry = await startSchemaRegistry();
    });
    after(() => registry.stop());

    async function withCluster(
      create: (topic: string, partitions: number) => number | undefined,
      run: (env: Record<string, string>) => Promise<void>,
    ) {
      const mock = await startKafkaMock({ brokers: 3 });
      try {
        for (const spec of plannedTopics({ partitions: 6, statePartitions: 2, replicationFactor: 3 })) {
          const partitions = create(spec.topic, spec.partitions);
          if (partitions !== undefined) await mock.createTopic(spec.topic, partitions, 3);
        }
        await run({
          ...mockClusterEnv(mock.bootstrapServers),
          SCHEMA_REGISTRY_URL: registry.url,
          RELAYGUARD_PARTITIONS: '6',
        });
      } finally {
        await mock.stop();
      }
    }

    const options = { statePartitions: 2, json: false };

    it('reports the topics that exist, registers every schema with BACKWARD_TRANSITIVE, exits 0', async () => {
      await withCluster(
        (_, partitions) => partitions,
        async (env) => {
          const result = await ensureTopicsAndSchemas(loadConfig(env), options, silentLogger);
          assert.equal(result.exitCode, ExitCode.OK, renderTopics(result));
          for (const report of result.topics) {
            assert.equal(report.status, 'exists', report.topic);
            assert.equal(report.replicationFactor, 3, 'the default: the number of brokers, at most 3');
            // The mock has no DescribeConfigs: the command says it does not know rather than guess.
            assert.equal(report.cleanupPolicy, undefined);
          }
          assert.equal(result.schemas.length, 6);
          for (const { subject } of result.schemas) {
            const config = await fetch(`${registry.url}/config/${subject}`).then((r) => r.json());
            assert.deepEqual(config, { compatibilityLevel: 'BACKWARD_TRANSITIVE' }, subject);
          }
          const table = renderTopics(result);
          assert.match(table, /relayguard\.tenant-blocks\.v1\s+exists\s+2\s+3/);
          assert.match(table, /relayguard\.message-submitted\.v1-value\s+\d+/);

          // Again: nothing changes, the same schema ids come back.
          const again = await ensureTopicsAndSchemas(loadConfig(env), options, silentLogger);
          assert.deepEqual(again.schemas, result.schemas);
        },
      );
    });

    it('reports a topic whose partition count differs from the plan, and exits 4', async () => {
      await withCluster(
        (topic, partitions) => (topic === Topics.messageSubmitted ? 2 : partitions),
        async (env) => {
          const result = await ensureTopicsAndSchemas(loadConfig(env), options, silentLogger);
          assert.equal(result.exitCode, ExitCode.UNEXPECTED_RESULT);
          const report = result.topics.find((r) => r.topic === Topics.messageSubmitted)!;
          assert.equal(report.status, 'differs');
          assert.match(report.problems.join(), /has 2 partitions, planned 6/);
        },
      );
    });

    it('reports the topics it could not create (the mock has no CreateTopics), and exits 1', async () => {
      await withCluster(
        (topic, partitions) => (topic === Topics.audit ? undefined : partitions),
        async (env) => {
          const result = await ensureTopicsAndSchemas(loadConfig(env), options, silentLogger);
          assert.equal(result.exitCode, ExitCode.FAILURE);
          const report = result.topics.find((r) => r.topic === Topics.audit)!;
          assert.equal(report.status, 'failed');
          assert.match(report.problems.join(), /could not be created/);
          assert.equal(
            result.topics.filter((r) => r.status === 'exists').length,
            Object.keys(Topics).length - 1,
          );
        },
      );
    });
  });
});
