// Run as its own process with a small heap (node --max-old-space-size=N): one scorer, on the memory adapters, fed a
// flood from one tenant (every event within a few minutes, so none leaves the grace period early) with a quiet
// neighbour on the same partition. Prints one JSON line: events consumed, the largest heap seen, the blocks.
// Exit 0 when the flood was scored; a scorer whose per-tenant state grows with the rate dies of heap exhaustion.
// Usage: hot-tenant-flood <events> [<batch size>]
import { asRecords, fleetDirectory, START, tenantAddress, tenantId } from '../../../bench/workload.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../../../services/core/policy.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../../../services/platform/memory/memory-window-store.js';
import { Metrics } from '../../../services/platform/metrics.js';
import { Scorer } from '../../../services/scorer/scorer.js';

const events = Number(process.argv[2]);
const batchSize = Number(process.argv[3] ?? 5_000);
if (!(events > 0)) {
  process.stderr.write('usage: hot-tenant-flood <events> [<batch size>]\n');
  process.exit(2);
}
const FLOOD_MS = 3 * MINUTE_MS;
const clock = new ManualClock(START);
const codec = new EmbeddedCodec();
const out = new MemoryEventLog({ clock });
const metrics = new Metrics({ processMetrics: false });
const scorer = new Scorer({
  log: out,
  codec,
  store: new MemoryWindowStore({ clock, ttlMs: 65 * MINUTE_MS }),
  directory: fleetDirectory(2),
  policy: DEFAULT_POLICY,
  logger: silentLogger,
  metrics,
  clock,
  maxClockSkewMs: MINUTE_MS,
});

let maxHeap = 0;
for (let from = 0; from < events; from += batchSize) {
  const batch: MessageSubmitted[] = [];
  for (let k = from; k < Math.min(events, from + batchSize); k++) {
    // One in fifty from the neighbour; the hot tenant's mail is a third unregistered (it blocks).
    const tenant = k % 50 === 0 ? 1 : 0;
    batch.push({
      eventId: `relay-1.example/Q${k.toString(36)}`,
      tenantId: tenantId(tenant),
      occurredAt: START + Math.floor((k * FLOOD_MS) / events),
      envelopeSenderDomain:
        tenant === 0 && k % 3 === 0 ? `spam${k % 40}.example` : `mail.${tenantId(tenant)}.example`,
      headerFromDomain: null,
      relayPath: 'ONPREM',
      connectorId: 'onprem-1',
      clientAddress: tenantAddress(tenant),
      queueId: `Q${k.toString(36)}`,
      relayHost: 'relay-1.example',
      recipientCount: 1,
      sizeBytes: 2048,
    });
  }
  clock.set(batch.at(-1)!.occurredAt);
  await scorer.handleBatch({
    topic: Topics.messageSubmitted,
    partition: 0,
    records: await asRecords(codec, batch, from),
    lag: 0,
  });
  maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
}
const consumed = (await metrics.eventsConsumed.get()).values.reduce((sum, { value }) => sum + value, 0);
const blocks = out.records(Topics.tenantBlocks).map((record) => record.key);
process.stdout.write(`${JSON.stringify({ consumed, maxHeapMiB: Math.round(maxHeap / 2 ** 20), blocks })}\n`);
