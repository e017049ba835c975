// Benchmark 9: a downstream subscriber's catch-up. The compacted tenant-blocks topic of a long-running deployment
// holds one record per tenant that was ever blocked: its latest event, mostly unblocks (2% of the tenants still
// blocked). A BlockSubscriber (relayguard/subscriber) starts against a million such tenants and is timed until
// `ready`: decoding every record with the SDK's schema and folding it into the view. On the memory log, so the
// figure is the subscriber's own cost; fetching from Kafka adds the consumer's rate (benchmark 2's baseline).
import { Topics } from '../services/core/topics.js';
import { systemClock } from '../services/platform/clock.js';
import { EmbeddedCodec } from '../services/platform/codec/embedded-codec.js';
import { MemoryEventLog } from '../services/platform/memory/memory-event-log.js';
import { BlockSubscriber } from '../services/sdk/subscriber/block-subscriber.js';
import { blockedEvent, unblockedEvent } from '../test/support/block-events.js';
import { defineBenchmark, format, timed } from './harness.js';
import { batchesOf } from './workload.js';

const SIZES = {
  quick: { tenants: 10_000 },
  measured: { tenants: 1_000_000 },
};

/** One tenant in fifty is blocked now; the others were blocked once and lifted. */
const STILL_BLOCKED_EVERY = 50;

export const subscriberBenchmark = defineBenchmark({
  id: 'subscriber',
  title: '9 subscriber catch-up',
  sizes: SIZES,
  async run({ sizes: { tenants }, progress, figure }) {
    const codec = new EmbeddedCodec();
    const log = new MemoryEventLog({ clock: systemClock, partitions: 12 });
    progress.phase('writing the topic', tenants);
    const ids = Array.from({ length: tenants }, (_, i) => i);
    for (const chunk of batchesOf(ids, 5_000)) {
      const records = await Promise.all(
        chunk.map(async (i) => {
          const tenant = `tenant-${i}`;
          const blockId = `${tenant}@2026-11-01T09:00Z`;
          const event =
            i % STILL_BLOCKED_EVERY === 0 ? blockedEvent(tenant, blockId) : unblockedEvent(tenant, blockId);
          return { key: tenant, value: await codec.encode(Topics.tenantBlocks, event) };
        }),
      );
      await log.publish(Topics.tenantBlocks, records);
      progress.tick(chunk.length);
    }

    progress.phase('catching up', 1);
    const subscriber = new BlockSubscriber({ log, codec });
    const spent = await timed(async () => {
      await subscriber.start();
      await subscriber.ready;
    });
    progress.tick();
    const blocked = [...subscriber.blocks()].length;
    await subscriber.close();
    await log.close();
    if (blocked !== Math.ceil(tenants / STILL_BLOCKED_EVERY))
      throw new Error(`the view holds ${blocked} blocks`);

    return [
      figure(`time to ready, ${format.count(tenants)} tenants' history`, spent.wallMs, format.ms),
      figure('records per CPU-second', tenants / (spent.cpuMs / 1000), format.rate),
      figure('blocks in the view when ready', blocked, format.count),
    ];
  },
});
