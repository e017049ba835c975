// What scorer tests on the memory adapters feed and read: MessageSubmitted published as the relays do (keyed by
// tenant), the block ids the scorer published, and a metric's value summed over the labels asked for.
import type { MessageSubmitted } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import type { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import type { Metrics } from '../../services/platform/metrics.js';
import type { EventLog, SchemaCodec } from '../../services/platform/ports.js';

export async function publishMessages(
  log: EventLog,
  codec: SchemaCodec,
  events: readonly MessageSubmitted[],
): Promise<void> {
  await log.publish(
    Topics.messageSubmitted,
    await Promise.all(
      events.map(async (event) => ({
        key: event.tenantId,
        value: await codec.encode(Topics.messageSubmitted, event),
      })),
    ),
  );
}

/** The block ids of the TenantBlocked records in the log, in publish order. */
export async function publishedBlockIds(log: MemoryEventLog, codec: SchemaCodec): Promise<string[]> {
  const events = await Promise.all(
    log.records(Topics.tenantBlocks).map((record) => codec.decode(Topics.tenantBlocks, record.value!)),
  );
  return events.map((event) => event.blocked!.blockId);
}

/** A counter's or gauge's value, summed over the series whose labels include `labels`. */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name) as unknown as {
    get(): Promise<{ values: { value: number; labels: Record<string, string> }[] }>;
  };
  const { values } = await metric.get();
  return values
    .filter((value) => Object.entries(labels).every(([k, v]) => value.labels[k] === v))
    .reduce((sum, { value }) => sum + value, 0);
}
