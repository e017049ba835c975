// Compaction on the real broker removes the superseded records of relayguard's state topics: a topic created with
// the plan's configs (`relayguard topics`) keeps the latest record per key, so an enforcer that replays it from the
// start gets the current state and not every change ever made; on tenant-blocks, the state a scorer publishes again
// behind a block every directory ignores is what it keeps. The tests shorten only the timing configs (segment roll,
// compaction lag, dirty ratio) so that compaction runs within seconds.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { blockIdFor } from '../../services/core/episodes.js';
import { Topics } from '../../services/core/topics.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import type { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { blockedEvent, connectorScope } from '../support/block-events.js';
import { readRecords } from '../support/enforcement.js';
import { type KafkaBrokers, sharedKafka } from '../support/kafka-broker.js';
import { kafkaEnv, kafkaLogOn } from '../support/production-stack.js';
import { waitFor } from '../support/tether.js';

const VERSIONS = 5;
const KEYS = 20;

describe('compaction of the state topics on the real broker', () => {
  let kafka: KafkaBrokers;
  let log: KafkaEventLog;
  before(async () => {
    kafka = await sharedKafka();
    log = kafkaLogOn(kafkaEnv(kafka.bootstrapServers));
  });
  after(() => log.close());

  /** A topic of the plan's configs for this state topic, its timing shortened; named afresh for each test. */
  async function compactedTopic(stateTopic: string): Promise<string> {
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
    return topic;
  }

  /** Each in a segment of its own: the cleaner never touches the active segment. */
  const segmentRolls = () => new Promise((resolve) => setTimeout(resolve, 150));

  for (const stateTopic of [Topics.acceptedDomains, Topics.connectors, Topics.tenantPolicies]) {
    it(`${stateTopic}: the superseded records are removed, the latest per key kept`, async () => {
      const topic = await compactedTopic(stateTopic);

      const key = (i: number) => `tenant-${i}/domain-${i}.example`;
      for (let version = 1; version <= VERSIONS; version++) {
        await log.publish(
          topic,
          Array.from({ length: KEYS }, (_, i) => ({ key: key(i), value: Buffer.from(`v${version}`) })),
        );
        await segmentRolls();
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

  it(`${Topics.tenantBlocks}: keeps the tenant block published again behind the connector block it widened`, async () => {
    const topic = await compactedTopic(Topics.tenantBlocks);
    const codec = new EmbeddedCodec();
    const at = Date.UTC(2026, 11, 1, 9);
    const narrow = blockedEvent('school', blockIdFor('school', at, 0), {
      at,
      scope: connectorScope('onprem-1'),
    });
    const widened = blockedEvent('school', blockIdFor('school', at + 60_000, 0), { at: at + 60_000 });
    const wide = { ...widened, blocked: { ...widened.blocked!, widenedFrom: narrow.blocked!.blockId } };
    const publish = async (event: TenantBlockEvent) => {
      await log.publish(topic, [{ key: 'school', value: await codec.encode(Topics.tenantBlocks, event) }]);
      await segmentRolls();
    };
    /** The tenant-blocks records once compaction left one for the tenant (and the record that closed its segment). */
    const compacted = async (description: string) => {
      await log.publish(topic, [{ key: 'roll', value: Buffer.from('closes the segment before it') }]);
      const records = await waitFor(
        async () => {
          const read = await readRecords(log, topic);
          return read.filter((record) => record.key === 'school').length === 1 ? read : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, description },
      );
      const directory = new TenantDirectory();
      for (const record of records.filter((r) => r.key === 'school')) {
        const event = await codec.decode(Topics.tenantBlocks, record.value!);
        directory.apply({ kind: 'tenant-block', event });
      }
      return directory;
    };

    // The block, its widening, and the connector block published again (a zombie scorer): the last record.
    const live = new TenantDirectory();
    for (const event of [narrow, wide, narrow]) {
      await publish(event);
      live.apply({ kind: 'tenant-block', event });
    }
    assert.equal(
      live.tenant('school')?.block?.blockId,
      wide.blocked.blockId,
      'ignored by a reader of all three',
    );
    const before = await compacted('compaction to the latest record of the tenant');
    assert.equal(
      before.tenant('school')?.block?.scope,
      'CONNECTOR',
      'what compaction alone leaves: the narrow block',
    );

    // What a scorer whose directory read the topic publishes behind it.
    const [stale] = live.staleBlocksLast();
    await publish(stale!.reaffirmation);
    const after = await compacted('compaction to the record published behind the connector block');
    assert.equal(after.tenant('school')?.block?.blockId, wide.blocked.blockId);
    assert.equal(after.tenant('school')?.block?.widenedFrom, narrow.blocked!.blockId);
  });
});
