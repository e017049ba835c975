// Bytes on the broker's disk per MessageSubmitted event, with the topic plan's compression (gzip) and without:
// `npx tsx bench/topic-size.ts [events]`. Publishes the same events (fleet traffic of 10,000 tenants, 500 a publish
// as the enforcer's spool drains them) to two topics of a real Apache Kafka broker and sums their log segments.
// The scale plan in bench/README.md sizes message-submitted's retention from these figures.
import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topics } from '../services/core/topics.js';
import { EmbeddedCodec } from '../services/platform/codec/embedded-codec.js';
import { loadConfig } from '../services/platform/config.js';
import { KafkaEventLog } from '../services/platform/kafka/kafka-event-log.js';
import { plannedTopics } from '../services/platform/kafka/topic-plan.js';
import { silentLogger } from '../services/platform/logger.js';
import { startKafkaCluster } from '../test/support/kafka-broker.js';
import { kafkaEnv } from '../test/support/production-stack.js';
import { batchesOf, fleetEvents } from './workload.js';

const events = Number(process.argv[2] ?? 100_000);
const kafka = await startKafkaCluster();
try {
  const log = new KafkaEventLog({
    kafka: loadConfig({ ...kafkaEnv(kafka.bootstrapServers), SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1' })
      .kafka!,
    logger: silentLogger,
  });
  const planned = plannedTopics({ partitions: 4, statePartitions: 1, replicationFactor: 1 }).find(
    (spec) => spec.topic === Topics.messageSubmitted,
  )!.configs;
  const codec = new EmbeddedCodec();
  const records = await Promise.all(
    fleetEvents(10_000, events).map(async (event) => ({
      key: event.tenantId,
      value: await codec.encode(Topics.messageSubmitted, event),
    })),
  );
  const encoded = records.reduce((sum, record) => sum + record.value.length, 0);
  const rows: string[] = [];
  for (const compression of ['gzip', 'uncompressed']) {
    const topic = `size-${compression}-${randomUUID()}`;
    await kafka.createTopic(topic, 4, 1, { ...planned, 'compression.type': compression });
    for (const batch of batchesOf(records, 500)) await log.publish(topic, batch);
    const bytes = await segmentBytes(topic);
    rows.push(
      `${compression}: ${bytes} B on disk for ${events} events, ${(bytes / events).toFixed(1)} B per event`,
    );
  }
  await log.close();
  process.stdout.write(
    `Avro value ${(encoded / events).toFixed(1)} B per event (key: the tenant id)\n${rows.join('\n')}\n`,
  );
} finally {
  await kafka.stop();
}

/** The size of the topic's log segments, in every broker storage folder the test brokers use. */
async function segmentBytes(topic: string): Promise<number> {
  let total = 0;
  for (const run of (await readdir(tmpdir())).filter((name) => name.startsWith('relayguard-kafka-'))) {
    const runDir = join(tmpdir(), run);
    for (const node of await readdir(runDir).catch(() => [])) {
      const nodeDir = join(runDir, node);
      for (const partition of (await readdir(nodeDir).catch(() => [])).filter((d) =>
        d.startsWith(`${topic}-`),
      )) {
        for (const file of (await readdir(join(nodeDir, partition))).filter((f) => f.endsWith('.log'))) {
          total += (await stat(join(nodeDir, partition, file))).size;
        }
      }
    }
  }
  return total;
}
