// The BlockSubscriber contract on the memory event log and the embedded codec (relayguard's embedded mode).
import { randomUUID } from 'node:crypto';
import { Topics } from '../../services/core/topics.js';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { BlockSubscriber } from '../../services/sdk/subscriber/index.js';
import { blockSubscriberContract } from './block-subscriber.contract.js';

blockSubscriberContract('memory log, embedded codec', async () => {
  const log = new MemoryEventLog({ clock: systemClock, partitions: 3 });
  const codec = new EmbeddedCodec();
  const topic = `blocks-${randomUUID()}`;
  const subscribers: BlockSubscriber[] = [];
  return {
    topic,
    async publish(events) {
      const records = await Promise.all(
        events.map(async (event) => ({
          key: event.tenantId,
          value: await codec.encode(Topics.tenantBlocks, event),
        })),
      );
      await log.publish(topic, records);
    },
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
