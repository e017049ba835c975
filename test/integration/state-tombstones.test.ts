// Tombstones of removed domains and connectors on the real broker, with the compacted topics as `relayguard topics`
// plans them (only the timings shortened so that the cleaner runs within seconds): compaction first leaves the
// tombstone alone, which a directory built afresh from the topics applies, and once delete.retention.ms has passed
// it forgets the key entirely. A broker of its own: the directory feed reads relayguard's fixed topic names.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDirectoryFeed } from '../../services/app/directory-feed.js';
import type { AcceptedDomainChanged, ConnectorChanged } from '../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { stateKey, Topics } from '../../services/core/topics.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import type { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { silentLogger } from '../../services/platform/logger.js';
import { Metrics } from '../../services/platform/metrics.js';
import type { LogRecord } from '../../services/platform/ports.js';
import { connectorSettings } from '../support/builders.js';
import { readRecords } from '../support/enforcement.js';
import { type KafkaCluster, startKafkaCluster } from '../support/kafka-broker.js';
import { kafkaEnv, kafkaLogOn } from '../support/production-stack.js';
import { waitFor } from '../support/tether.js';

const codec = new EmbeddedCodec();
const stamp = (at: number) => ({ eventId: `e${at}`, occurredAt: 1_000 + at, actor: 'ops' });

function domain(
  tenantId: string,
  name: string,
  change: 'ADDED' | 'REMOVED',
  at: number,
): AcceptedDomainChanged {
  return {
    ...stamp(at),
    tenantId,
    domain: name,
    change,
    matchSubdomains: false,
    verification: { method: 'OPERATOR', verifiedAt: 1_000 + at, actor: 'ops' },
    verificationToken: `token-${at}`,
  };
}

function connector(
  tenantId: string,
  connectorId: string,
  change: 'UPSERTED' | 'REMOVED',
  at: number,
): ConnectorChanged {
  return {
    ...stamp(at),
    tenantId,
    connectorId,
    change,
    ...connectorSettings(),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe('tombstones on the real broker', () => {
  let kafka: KafkaCluster;
  let log: KafkaEventLog;
  before(async () => {
    // The cleaner looks for work every half second instead of every 15 s.
    kafka = await startKafkaCluster({ properties: { 'log.cleaner.backoff.ms': '500' } });
    log = kafkaLogOn(kafkaEnv(kafka.bootstrapServers));
    const plan = plannedTopics({ partitions: 1, statePartitions: 1, replicationFactor: 1 });
    for (const spec of plan.filter((s) => s.configs['cleanup.policy'] === 'compact')) {
      await kafka.createTopic(spec.topic, 1, 1, {
        ...spec.configs,
        'segment.ms': '100',
        'min.cleanable.dirty.ratio': '0.01',
        'min.compaction.lag.ms': '0',
        // Connectors: tombstones expire at once, to see the key forgotten; domains keep the plan's day.
        ...(spec.topic === Topics.connectors && { 'delete.retention.ms': '0' }),
      });
    }
  });
  after(async () => {
    await log.close();
    await kafka.stop();
  });

  async function publish(
    topic: typeof Topics.acceptedDomains | typeof Topics.connectors,
    key: string,
    event: AcceptedDomainChanged | ConnectorChanged | null,
  ) {
    await log.publish(topic, [{ key, value: event && (await codec.encode(topic, event as never)) }]);
    // Each record in a segment of its own: the cleaner never touches the active one.
    await settle();
  }
  const ofKey = (records: readonly LogRecord[], key: string) =>
    records
      .filter((record) => record.key === key)
      .map((record) => (record.value === null ? 'tombstone' : 'event'));

  it('compaction leaves a removed domain its tombstone alone, and a directory built afresh does not have the domain', async () => {
    const removed = stateKey('acme', 'a.example');
    await publish(Topics.acceptedDomains, removed, domain('acme', 'a.example', 'ADDED', 1));
    await publish(
      Topics.acceptedDomains,
      stateKey('acme', 'b.example'),
      domain('acme', 'b.example', 'ADDED', 2),
    );
    await publish(Topics.acceptedDomains, removed, domain('acme', 'a.example', 'REMOVED', 3));
    await publish(Topics.acceptedDomains, removed, null);
    let roll = 10;
    await waitFor(
      async () => {
        // Another tenant's changes close the segment the tombstone is in, so the cleaner reaches it.
        await publish(
          Topics.acceptedDomains,
          stateKey('globex', `d${roll}.example`),
          domain('globex', `d${roll}.example`, 'ADDED', roll++),
        );
        const keyRecords = ofKey(await readRecords(log, Topics.acceptedDomains), removed);
        return keyRecords.length === 1 && keyRecords[0] === 'tombstone';
      },
      {
        timeoutMs: 90_000,
        intervalMs: 500,
        description: 'compaction to leave a.example its tombstone alone',
      },
    );

    const directory = new TenantDirectory();
    const metrics = new Metrics();
    const feed = await startDirectoryFeed({ log, codec, directory, logger: silentLogger, metrics });
    await feed.caughtUp;
    await feed.stop();
    assert.deepEqual(
      directory.tenant('acme')?.acceptedDomains.map((entry) => entry.domain),
      ['b.example'],
    );
    assert.equal(directory.acceptedDomain('acme', 'a.example'), undefined);
    const consumed = await metrics.registry.getSingleMetric('relayguard_events_consumed_total')!.get();
    const tombstones = consumed.values.find(
      (v) => v.labels.topic === Topics.acceptedDomains && v.labels.outcome === 'tombstone',
    );
    assert.equal(tombstones?.value, 1);
  });

  it('compaction forgets a removed connector entirely once its tombstone expired', async () => {
    const removed = stateKey('acme', 'onprem-1');
    const kept = stateKey('acme', 'onprem-2');
    await publish(Topics.connectors, removed, connector('acme', 'onprem-1', 'UPSERTED', 1));
    await publish(Topics.connectors, kept, connector('acme', 'onprem-2', 'UPSERTED', 2));
    await publish(Topics.connectors, removed, connector('acme', 'onprem-1', 'REMOVED', 3));
    await publish(Topics.connectors, removed, null);
    let roll = 10;
    const records = await waitFor(
      async () => {
        await publish(
          Topics.connectors,
          stateKey('globex', `c${roll}`),
          connector('globex', `c${roll}`, 'UPSERTED', roll++),
        );
        const all = await readRecords(log, Topics.connectors);
        return ofKey(all, removed).length === 0 ? all : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: 'compaction to forget onprem-1' },
    );
    assert.deepEqual(ofKey(records, kept), ['event'], 'the other connector stays');
  });
});
