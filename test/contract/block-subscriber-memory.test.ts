// The BlockSubscriber contract on the memory event log and the embedded codec (relayguard's embedded mode).
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { BlockSubscriber } from '../../services/sdk/subscriber/index.js';
import { blockSubscriberContract, subscriberFixture } from './block-subscriber.contract.js';

blockSubscriberContract('memory log, embedded codec', async () => {
  const log = new MemoryEventLog({ clock: systemClock, partitions: 3 });
  const codec = new EmbeddedCodec();
  const topic = `blocks-${randomUUID()}`;
  return subscriberFixture({
    topic,
    producer: log,
    codec,
    newSubscriber: (options) => new BlockSubscriber({ log, codec, topic, ...options }),
    close: () => log.close(),
  });
});
