// The relay SDK as a relay uses it in production: its own Kafka producer (the Kafka adapter, against a real Apache
// Kafka broker) and its own Schema Registry codec (against the registry double), publishing to a relayguard on
// the production adapters, whose scorer counts the events and blocks the tenant.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Topics } from '../../services/core/topics.js';
import { RegistryCodec } from '../../services/platform/codec/registry-codec.js';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { EventLog } from '../../services/platform/ports.js';
import { MessagePublisher, type SubmittedMessage } from '../../services/sdk/index.js';
import { blockAfter, exampleTenant, onboard, readTopic } from '../support/enforcement.js';
import { productionPipelineSuite } from '../support/pipeline-driver.js';
import { assertNoLossNoReorder, type PublishCall } from '../support/publish-order.js';
import { waitFor } from '../support/tether.js';

describe('relay SDK on Kafka and the Schema Registry', () => {
  let relayLog: KafkaEventLog;
  // Registered before the suite's hooks: the relay's client closes before the pipeline and the broker stop.
  after(() => relayLog?.close());
  const suite = productionPipelineSuite();

  before(async () => {
    await onboard(suite.driver, exampleTenant('northwind', '198.51.100.0/24', blockAfter(3)));
    relayLog = new KafkaEventLog({ kafka: loadConfig(suite.stack.env).kafka!, logger: silentLogger });
  });

  it('publishes batched events that the scorer counts, and close() flushes', async () => {
    const publisher = new MessagePublisher({
      log: relayLog,
      codec: new RegistryCodec(loadConfig(suite.stack.env).schemaRegistry!),
      clock: suite.driver.clock,
    });
    const message = (i: number, sender: string): SubmittedMessage => ({
      tenantId: 'northwind',
      connectorId: 'northwind-connector',
      relayPath: 'ONPREM',
      sender,
      clientAddress: '198.51.100.7',
      queueId: `Q${i}`,
      relayHost: 'relay-9.example.net',
      recipientCount: 2,
      sizeBytes: 10_000 + i,
    });
    const delivered = await Promise.all([
      publisher.publish(message(1, 'ops@northwind.example')),
      publisher.publish(message(2, 'deals@spam-a.example')),
      publisher.publish(message(3, 'deals@spam-b.example')),
    ]);
    assert.deepEqual(
      delivered.map((event) => event.eventId),
      ['relay-9.example.net/Q1', 'relay-9.example.net/Q2', 'relay-9.example.net/Q3'],
    );
    // The last one is still being written when close() is called: close waits for it.
    const last = publisher.publish(message(4, 'deals@spam-c.example'));
    await publisher.close();
    assert.equal((await last).envelopeSenderDomain, 'spam-c.example');

    await suite.driver.settle();
    await waitFor(() => suite.driver.runtime.directory.tenant('northwind')?.block, {
      description: 'the tenant to be blocked',
      timeoutMs: 60_000,
    });
    const events = await readTopic(suite.driver, Topics.messageSubmitted);
    assert.deepEqual(events.map((event) => event.queueId).sort(), ['Q1', 'Q2', 'Q3', 'Q4']);
    const { counters } = await suite.driver.runtime.admin!.status('northwind');
    assert.deepEqual([counters.total, counters.unregistered], [4, 3]);
  });
  it('keeps the events of each tenant in order on the broker, through a refused send and a lost acknowledgement', async () => {
    // The relay's log refuses its 3rd send before writing it, and loses the acknowledgement of its 5th.
    let sends = 0;
    const faulty: EventLog = {
      publish: async (topic, records) => {
        const send = ++sends;
        if (send === 3) throw new Error('broker unreachable');
        // Every third send is slower to reach the broker: two sends in flight at once would overtake each other.
        if (send % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        await relayLog.publish(topic, records);
        if (send === 5) throw new Error('request timed out');
      },
      subscribe: (options) => relayLog.subscribe(options),
      settled: () => relayLog.settled(),
      close: async () => {},
    };
    const publisher = new MessagePublisher({
      log: faulty,
      codec: new RegistryCodec(loadConfig(suite.stack.env).schemaRegistry!),
      clock: suite.driver.clock,
      maxBatch: 20,
    });
    const calls: PublishCall[] = [];
    const settled: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const tenantId = `order-${i % 4}`;
      const call: PublishCall = { tenantId, eventId: `relay-order/O${i}` };
      calls.push(call);
      const published = publisher.publish({
        tenantId,
        connectorId: `${tenantId}-connector`,
        relayPath: 'ONPREM',
        sender: `it@${tenantId}.example`,
        queueId: `O${i}`,
        relayHost: 'relay-order',
        recipientCount: 1,
        sizeBytes: 1_000,
      });
      settled.push(
        published.then(
          () => {
            call.delivered = true;
          },
          () => {
            call.delivered = false;
          },
        ),
      );
      // Bursts and pauses: sends of one message and sends of many.
      if (i % 7 === 0) await nextTurn();
    }
    await publisher.close();
    await Promise.all(settled);
    assert.ok(sends >= 6, `${sends} sends`);
    assert.ok(
      calls.some((call) => call.delivered === false),
      'some publish() calls failed',
    );
    const logged = (await readTopic(suite.driver, Topics.messageSubmitted)).filter((event) =>
      event.tenantId.startsWith('order-'),
    );
    assertNoLossNoReorder(calls, logged);
  });
});
