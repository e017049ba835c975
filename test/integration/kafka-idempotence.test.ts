// The producer's idempotence switch on a Kafka-protocol broker. librdkafka's mock cluster names no controller,
// so a proxy (test/support/kafka-controller-proxy.ts) names one: the idempotent producer, relayguard's
// production default, then runs for real (InitProducerId, producer ids and sequences on every batch). With a
// lost acknowledgement, a producer without idempotence writes the records again at new offsets: the cost the
// README describes. Known limit: the mock (librdkafka 2.0.2) does not drop a retried idempotent batch either,
// as Kafka does, so the deduplication itself is Kafka's and is not under test here.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { LogRecord } from '../../services/platform/ports.js';
import { readRecords } from '../support/enforcement.js';
import { type ControllerProxy, startControllerProxy } from '../support/kafka-controller-proxy.js';
import { type KafkaMock, startKafkaMock } from '../support/kafka-mock.js';
import { mockClusterEnv } from '../support/production-stack.js';

const INIT_PRODUCER_ID = 22;

describe('Kafka producer idempotence', () => {
  let mock: KafkaMock;
  let proxy: ControllerProxy;
  before(async () => {
    mock = await startKafkaMock({ brokers: 3 });
    proxy = await startControllerProxy(mock.bootstrapServers);
  });
  after(async () => {
    await proxy.stop();
    await mock.stop();
  });

  /** Publishes a record, loses the acknowledgement of the next publish of three, and reads the topic back. */
  async function publishLosingAnAck(idempotent: boolean): Promise<LogRecord[]> {
    const topic = `idempotence-${randomUUID()}`;
    await mock.createTopic(topic, 1, 3);
    const log = new KafkaEventLog({
      kafka: loadConfig({
        ...mockClusterEnv(proxy.bootstrapServers),
        KAFKA_IDEMPOTENT: String(idempotent),
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
      }).kafka!,
      logger: silentLogger,
      maxWaitTimeMs: 100,
    });
    try {
      await log.publish(topic, [{ key: 'tenant', value: Buffer.from('first') }]);
      const lost = proxy.lostAcks;
      proxy.loseNextProduceAck();
      await log.publish(
        topic,
        ['a', 'b', 'c'].map((text) => ({ key: 'tenant', value: Buffer.from(text) })),
      );
      assert.equal(proxy.lostAcks, lost + 1, 'an acknowledgement was lost, and the publish still succeeded');
      return await readRecords(log, topic);
    } finally {
      await log.close();
    }
  }

  it('runs the idempotent producer (the production default) against a broker that names its controller', async () => {
    const before = proxy.requests.get(INIT_PRODUCER_ID) ?? 0;
    const records = await publishLosingAnAck(true);
    assert.equal(proxy.requests.get(INIT_PRODUCER_ID), before + 1, 'InitProducerId went to the controller');
    const values = records.map((record) => record.value!.toString());
    // Kafka would hold first,a,b,c: it drops the retried batch by its producer id and sequence.
    assert.deepEqual(values.slice(0, 4), ['first', 'a', 'b', 'c']);
  });

  it('without idempotence, a lost acknowledgement writes the records again at new offsets', async () => {
    const before = proxy.requests.get(INIT_PRODUCER_ID) ?? 0;
    const records = await publishLosingAnAck(false);
    assert.equal(proxy.requests.get(INIT_PRODUCER_ID) ?? 0, before, 'no producer id without idempotence');
    assert.deepEqual(
      records.map((record) => [record.offset, record.value!.toString()]),
      [
        ['0', 'first'],
        ['1', 'a'],
        ['2', 'b'],
        ['3', 'c'],
        ['4', 'a'],
        ['5', 'b'],
        ['6', 'c'],
      ],
      'the same events twice, at offsets the scorer watermark cannot tell from new ones (its event fingerprints can)',
    );
  });
});
