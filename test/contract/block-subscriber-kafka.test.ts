// The BlockSubscriber contract on the real Apache Kafka broker (the run's shared broker, a topic per test) and the
// Schema Registry (the in-repo double), then what only production adapters have: a producer on a newer schema,
// and a broker outage (a broker of its own, killed and started again).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import avro from 'avsc';
import { Topics } from '../../services/core/topics.js';
import { decodeBody, frame, readSchema } from '../../services/platform/codec/avro.js';
import { RegistryCodec, RegistryRest, subjectOf } from '../../services/platform/codec/registry-codec.js';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../../services/platform/logger.js';
import { BlockSubscriber, kafkaBlockSubscriber } from '../../services/sdk/subscriber/index.js';
import { blockedEvent, blockRecords, unblockedEvent } from '../support/block-events.js';
import {
  type KafkaBrokers,
  sharedKafka,
  startKafkaCluster,
  testKafkaVersion,
} from '../support/kafka-broker.js';
import { kafkaEnv } from '../support/production-stack.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { cleanupStack, waitFor } from '../support/tether.js';
import { blockSubscriberContract, subscriberFixture } from './block-subscriber.contract.js';

let kafka: KafkaBrokers;
let registry: SchemaRegistryDouble;
before(async () => {
  [kafka, registry] = await Promise.all([sharedKafka(), startSchemaRegistry()]);
});
after(() => registry.stop());

const kafkaConfig = (brokers: KafkaBrokers) =>
  loadConfig({ ...kafkaEnv(brokers.bootstrapServers), SCHEMA_REGISTRY_URL: registry.url }).kafka!;
const connect = (brokers = kafka) =>
  new KafkaEventLog({ kafka: kafkaConfig(brokers), logger: silentLogger, maxWaitTimeMs: 100 });
const registryCodec = () => new RegistryCodec({ url: registry.url, auth: undefined });

blockSubscriberContract(`Apache Kafka ${testKafkaVersion()}, Schema Registry`, async () => {
  const topic = `blocks-${randomUUID()}`;
  await kafka.createTopic(topic, 3);
  const producer = connect();
  return subscriberFixture({
    topic,
    producer,
    codec: registryCodec(),
    newSubscriber: (options) =>
      new BlockSubscriber({ log: connect(), codec: registryCodec(), topic, ownsLog: true, ...options }),
    close: () => producer.close(),
  });
});

describe('BlockSubscriber on the production adapters', () => {
  it('reads events a newer producer schema wrote (an added field) with the SDK schema', async (t) => {
    const defer = cleanupStack(t);
    const topic = `blocks-${randomUUID()}`;
    await kafka.createTopic(topic, 1);
    const producer = connect();
    defer(() => producer.close());
    // The subject holds relayguard's schema first (as `relayguard topics` registers it), then a newer one.
    await registryCodec().registerAll();
    const current = readSchema(Topics.tenantBlocks) as avro.schema.RecordType;
    const newer = {
      ...current,
      fields: [...current.fields, { name: 'region', type: 'string', default: 'global', doc: 'Added in v2.' }],
    };
    const { id } = (await new RegistryRest({ url: registry.url, auth: undefined }).request(
      'POST',
      `/subjects/${encodeURIComponent(subjectOf(Topics.tenantBlocks))}/versions`,
      { schema: JSON.stringify(newer) },
    )) as { id: number };
    const written = frame(
      id,
      avro.Type.forSchema(newer).toBuffer({ ...blockedEvent('contoso', 'contoso#1'), region: 'eu-west' }),
    );
    // Without resolution the SDK's schema cannot read it (the check below is not vacuous).
    assert.throws(
      () => decodeBody(avro.Type.forSchema(current), written, topic),
      (error: { code?: string }) => error.code === 'SCHEMA_MISMATCH',
    );
    await producer.publish(topic, [{ key: 'contoso', value: written }]);

    const subscriber = kafkaBlockSubscriber({
      kafka: { brokers: kafka.bootstrapServers, sessionTimeoutMs: 6_000 },
      schemaRegistry: { url: registry.url },
      topic,
    });
    defer(() => subscriber.close());
    await subscriber.start();
    await subscriber.ready;
    assert.equal(subscriber.isBlocked('contoso'), true);
    assert.equal(subscriber.block('contoso')?.evidence.unregistered, 620);
    assert.equal('region' in subscriber.block('contoso')!, false);
  });

  it('rides out a broker outage: follows again afterwards, without reporting a change twice', async (t) => {
    const defer = cleanupStack(t);
    // A broker of its own, so that the outage is total and hurts no other test.
    const lonely = await startKafkaCluster({ nodes: 1 });
    defer(() => lonely.stop());
    const topic = `blocks-${randomUUID()}`;
    await lonely.createTopic(topic, 2, 1);
    const producer = connect(lonely);
    defer(() => producer.close());
    const codec = registryCodec();
    const publish = async (...events: ReturnType<typeof blockedEvent>[]) =>
      producer.publish(topic, await blockRecords(codec, events));
    await publish(blockedEvent('contoso', 'contoso#1'), blockedEvent('fabrikam', 'fabrikam#1'));

    const subscriber = kafkaBlockSubscriber({
      kafka: { brokers: lonely.bootstrapServers, sessionTimeoutMs: 6_000 },
      schemaRegistry: { url: registry.url },
      topic,
    });
    defer(() => subscriber.close());
    const seen: string[] = [];
    subscriber.on('blocked', (change) => void seen.push(`blocked ${change.block.blockId}`));
    subscriber.on('unblocked', (change) => void seen.push(`unblocked ${change.unblock.blockId}`));
    await subscriber.start();
    await subscriber.ready;
    assert.deepEqual(seen.toSorted(), ['blocked contoso#1', 'blocked fabrikam#1']);

    // Killed (a crash, not a clean shutdown), down for 8 s, then started again on the same ports and storage.
    const [broker] = lonely.nodes;
    await broker!.kill();
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    await broker!.start();
    await waitFor(() => publish(unblockedEvent('contoso', 'contoso#1')).then(() => true), {
      description: 'a publish after the outage',
      timeoutMs: 30_000,
    });
    await waitFor(() => !subscriber.isBlocked('contoso'), {
      description: 'the unblock published after the outage',
      timeoutMs: 60_000,
    });
    assert.deepEqual(seen.slice(2), ['unblocked contoso#1']);
    assert.equal(subscriber.isBlocked('fabrikam'), true);
  });
});
