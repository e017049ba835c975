// Compaction on the real broker removes the superseded records of relayguard's state topics: a topic created with
// the plan's configs (`relayguard topics`) keeps the latest record per key, so an enforcer that replays it from the
// start gets the current state and not every change ever made. The test shortens only the timing configs
// (segment roll, compaction lag, dirty ratio) so that compaction runs within seconds.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Topics } from '../../services/core/topics.js';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { silentLogger } from '../../services/platform/logger.js';
import { readRecords } from '../support/enforcement.js';
import { type KafkaBrokers, sharedKafka } from '../support/kafka-broker.js';
import { kafkaEnv } from '../support/production-stack.js';
import { waitFor } from '../support/tether.js';

const VERSIONS = 5;
const KEYS = 20;

describe('compaction of the state topics on the real broker', () => {
  let kafka: KafkaBrokers;
  let log: KafkaEventLog;
  before(async () => {
    kafka = await sharedKafka();
    log = new KafkaEventLog({
      kafka: loadConfig({ ...kafkaEnv(kafka.bootstrapServers), SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1' })
        .kafka!,
      logger: silentLogger,
      maxWaitTimeMs: 100,
    });
  });
  after(() => log.close());

  for (const stateTopic of [Topics.acceptedDomains, Topics.connectors, Topics.tenantPolicies]) {
    it(`${stateTopic}: the superseded records are removed, the latest per key kept`, async () => {
      const spec = plannedTopics({ partitions: 1, statePartitions: 1, replicationFactor: 1 }).find(
        (planned) => planned.topic === stateTopic,
      )!;
      assert.equal(spec.configs['cleanup.policy'], 'compact');
      const topic = `${stateTopic}-${randomUUID()}`;
      await kafka.createTopic(topic, 1, 1, {
        ...spec.configs,
        'segment.ms': '100',
        'min.cleanable.dirty.ratio': '0.01',
        'min.compaction.lag.ms': '0',
      });

      const key = (i: number) => `tenant-${i}/domain-${i}.example`;
      for (let version = 1; version <= VERSIONS; version++) {
        await log.publish(
          topic,
          Array.from({ length: KEYS }, (_, i) => ({ key: key(i), value: Buffer.from(`v${version}`) })),
        );
        // Each version in a segment of its own: the cleaner never touches the active segment.
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      await log.publish(topic, [{ key: 'roll', value: Buffer.from('closes the last segment') }]);

      const compacted = await waitFor(
        async () => {
          const records = await readRecords(log, topic);
          return records.length === KEYS + 1 ? records : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, description: `compaction of ${topic} to one record per key` },
      );
      const latest = new Map(compacted.map((record) => [record.key, record.value!.toString()]));
      for (let i = 0; i < KEYS; i++) assert.equal(latest.get(key(i)), `v${VERSIONS}`, key(i));
      assert.ok(
        compacted.every((record) => BigInt(record.offset) >= BigInt(KEYS * (VERSIONS - 1))),
        'only the offsets of the last version remain',
      );
    });
  }
});
