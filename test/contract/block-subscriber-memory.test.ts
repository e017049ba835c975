// The BlockSubscriber contract on the memory event log and the embedded codec (relayguard's embedded mode).
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { BlockSubscriber } from '../../services/sdk/subscriber/index.js';
import { blockRecords } from '../support/block-events.js';
import { blockSubscriberContract } from './block-subscriber.contract.js';

blockSubscriberContract('memory log, embedded codec', async () => {
  const log = new MemoryEventLog({ clock: systemClock, partitions: 3 });
  const codec = new EmbeddedCodec();
  const topic = `blocks-${randomUUID()}`;
  const subscribers: BlockSubscriber[] = [];
  return {
    topic,
    publish: async (events) => log.publish(topic, await blockRecords(codec, events)),
    publishRaw: (tenantId, value) => log.publish(topic, [{ key: tenantId, value }]),
    subscriber(options = {}) {
      const subscriber = new BlockSubscriber({ log, codec, topic, ...options });
      subscribers.push(subscriber);
      return subscriber;
    },
    async cleanup() {
      await Promise.all(subscribers.map((subscriber) => subscriber.close()));
      await log.close();
    },
  };
});
