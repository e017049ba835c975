// ensureTopics against brokers that answer DescribeConfigs (the mock cluster does not, so its integration test
// cannot reach these checks): an existing state topic that would lose state is reported, not altered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { BLOCK_HISTORY_MS, Topics } from '../../../services/core/topics.js';
import { ensureTopics } from '../../../services/platform/kafka/topic-admin.js';
import { plannedTopics } from '../../../services/platform/kafka/topic-plan.js';

const plan = plannedTopics({ partitions: 6, statePartitions: 2, replicationFactor: 3 });

/** Every planned topic exists as planned, except for the topic configs given here. */
function brokersWith(configs: Record<string, Record<string, string>>): Admin {
  const admin = {
    listTopics: async () => plan.map((spec) => spec.topic),
    fetchTopicMetadata: async () => ({
      topics: plan.map((spec) => ({
        name: spec.topic,
        partitions: Array.from({ length: spec.partitions }, (_, partitionId) => ({
          partitionId,
          replicas: [1, 2, 3],
        })),
      })),
    }),
    describeConfigs: async () => ({
      resources: plan.map((spec) => ({
        resourceName: spec.topic,
        configEntries: Object.entries({ ...spec.configs, ...configs[spec.topic] }).map(
          ([configName, configValue]) => ({ configName, configValue }),
        ),
      })),
    }),
    createTopics: async () => assert.fail('nothing is missing: nothing may be created'),
  };
  return admin as unknown as Admin;
}

describe('ensureTopics with DescribeConfigs', () => {
  it('reports every topic as it exists when it matches the plan', async () => {
    const reports = await ensureTopics(brokersWith({}), plan);
    assert.deepEqual(
      reports.map((report) => [report.topic, report.status, report.problems]),
      plan.map((spec) => [spec.topic, 'exists', []]),
    );
  });

  it('reports a state topic that retention would delete, and one compacted too soon for the block history', async () => {
    const reports = await ensureTopics(
      brokersWith({
        [Topics.connectors]: { 'cleanup.policy': 'delete' },
        [Topics.tenantBlocks]: { 'min.compaction.lag.ms': '0' },
      }),
      plan,
    );
    const byTopic = new Map(reports.map((report) => [report.topic, report]));
    assert.equal(byTopic.get(Topics.connectors)?.status, 'differs');
    assert.match(byTopic.get(Topics.connectors)!.problems[0]!, /cleanup\.policy=delete.*set compact/);
    assert.equal(byTopic.get(Topics.tenantBlocks)?.status, 'differs');
    assert.match(
      byTopic.get(Topics.tenantBlocks)!.problems[0]!,
      new RegExp(
        `min\\.compaction\\.lag\\.ms=0 \\(0 min\\), planned ${BLOCK_HISTORY_MS} \\(30 d\\): compaction may forget blocks`,
      ),
    );
    const others = reports.filter(
      (report) => report.topic !== Topics.connectors && report.topic !== Topics.tenantBlocks,
    );
    assert.ok(others.every((report) => report.status === 'exists'));
  });

  it('reports events kept shorter than planned, tombstones kept too briefly, and a codec kafkajs cannot read', async () => {
    const reports = await ensureTopics(
      brokersWith({
        [Topics.messageSubmitted]: { 'retention.ms': '1800000', 'compression.type': 'zstd' },
        [Topics.acceptedDomains]: { 'delete.retention.ms': '60000' },
        [Topics.audit]: { 'retention.ms': '604800000' },
      }),
      plan,
    );
    const problems = (topic: string) => reports.find((report) => report.topic === topic)!.problems;
    assert.deepEqual(problems(Topics.messageSubmitted), [
      'has retention.ms=1800000 (30 min), planned 86400000 (1 d): events are deleted sooner than planned (a scorer group down longer, or rebuild-windows, loses them)',
      'has compression.type=zstd, planned gzip: kafkajs cannot read these batches',
    ]);
    assert.deepEqual(problems(Topics.acceptedDomains), [
      'has delete.retention.ms=60000 (1 min), planned 86400000 (1 d): a reader replaying the topic may miss a tombstone and keep a removed domain or connector',
    ]);
    // Kept for good as planned is -1: a week is shorter.
    assert.match(
      problems(Topics.audit).join(),
      /retention\.ms=604800000 \(7 d\), planned -1 \(forever\): events are deleted sooner/,
    );
    const report = reports.find((r) => r.topic === Topics.messageSubmitted)!;
    assert.equal(report.retentionMs, '1800000');
    assert.equal(report.compression, 'zstd');
    assert.equal(reports.find((r) => r.topic === Topics.connectors)!.retentionMs, undefined, 'compacted');
  });
});
