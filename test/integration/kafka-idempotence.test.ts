// The producer's idempotence switch on the real Apache Kafka broker, behind a Kafka-protocol proxy
// (test/support/kafka-controller-proxy.ts) that keeps every connection proxied and can lose the acknowledgement of
// a Produce request: the broker has written the records, the client sees its connection drop and retries. With
// the idempotent producer (relayguard's production default) the broker drops the retried batch by its producer id
// and sequence (KIP-98); without it the records are written again at new offsets: the cost the README describes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readRecords } from '../support/enforcement.js';
import { type KafkaBrokers, sharedKafka } from '../support/kafka-broker.js';
import { type ControllerProxy, startControllerProxy } from '../support/kafka-controller-proxy.js';
import { kafkaEnv, kafkaLogOn } from '../support/production-stack.js';

const INIT_PRODUCER_ID = 22;

describe('Kafka producer idempotence', () => {
  let kafka: KafkaBrokers;
  let proxy: ControllerProxy;
  before(async () => {
    kafka = await sharedKafka();
    proxy = await startControllerProxy(kafka.bootstrapServers);
  });
  after(() => proxy.stop());

  /** Publishes a record, loses the acknowledgement of the next publish of three, and reads the topic back. */
  async function publishLosingAnAck(idempotent: boolean): Promise<string[]> {
    const topic = `idempotence-${randomUUID()}`;
    await kafka.createTopic(topic, 1);
    const log = kafkaLogOn({ ...kafkaEnv(proxy.bootstrapServers), KAFKA_IDEMPOTENT: String(idempotent) });
    try {
      await log.publish(topic, [{ key: 'tenant', value: Buffer.from('first') }]);
      const lost = proxy.lostAcks;
      proxy.loseNextProduceAck();
      await log.publish(
        topic,
        ['a', 'b', 'c'].map((text) => ({ key: 'tenant', value: Buffer.from(text) })),
      );
      assert.equal(proxy.lostAcks, lost + 1, 'an acknowledgement was lost, and the publish still succeeded');
      // Each record as '<offset> <value>'.
      return (await readRecords(log, topic)).map((record) => `${record.offset} ${record.value!.toString()}`);
    } finally {
      await log.close();
    }
  }

  it('with the idempotent producer (the production default), a retry after a lost acknowledgement writes no duplicate', async () => {
    const before = proxy.requests.get(INIT_PRODUCER_ID) ?? 0;
    const records = await publishLosingAnAck(true);
    assert.deepEqual(records, ['0 first', '1 a', '2 b', '3 c']);
    // More than one InitProducerId when the broker's transaction coordinator is still loading: kafkajs retries.
    assert.ok((proxy.requests.get(INIT_PRODUCER_ID) ?? 0) > before, 'the producer asked for a producer id');
  });

  it('without idempotence, a lost acknowledgement writes the records again at new offsets', async () => {
    const before = proxy.requests.get(INIT_PRODUCER_ID) ?? 0;
    const records = await publishLosingAnAck(false);
    assert.equal(proxy.requests.get(INIT_PRODUCER_ID) ?? 0, before, 'no producer id without idempotence');
    assert.deepEqual(
      records,
      ['0 first', '1 a', '2 b', '3 c', '4 a', '5 b', '6 c'],
      'the same events twice, at offsets the scorer watermark cannot tell from new ones (its event fingerprints can)',
    );
  });
});
