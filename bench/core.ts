// Benchmark 3: the pure core on one core. Decode (the embedded Avro codec, Confluent wire format, one await per
// batch, the scored fields only), validate and normalize, classify against the directory, fold into the tenant's
// window (BatchFold, which also tallies outcomes and classes for the metrics): the scorer's handleBatch without
// the I/O, windows in a Map.
import { SCORED_FIELDS, validateMessage } from '../services/core/classify.js';
import { isRelayguardError } from '../services/core/errors.js';
import { DEFAULT_POLICY } from '../services/core/policy.js';
import { BatchFold, type PositionedMessage, type TenantContext } from '../services/core/scoring.js';
import { Topics } from '../services/core/topics.js';
import { emptyWindow, type TenantWindow } from '../services/core/windows.js';
import { EmbeddedCodec } from '../services/platform/codec/embedded-codec.js';
import type { LogRecord, SchemaCodec } from '../services/platform/ports.js';
import { scoringContext } from '../services/scorer/scorer.js';
import { atLeast, defineBenchmark, format, median, timed } from './harness.js';
import { asRecords, batchesOf, fleetDirectory, fleetEvents } from './workload.js';

const SIZES = {
  quick: { tenants: 1_000, perRound: 20_000, rounds: 2 },
  measured: { tenants: 10_000, perRound: 200_000, rounds: 7 },
};

/** One batch through the core, as Scorer.handleBatch does it minus the store and the event log. */
export async function foldBatch(
  records: readonly LogRecord[],
  codec: SchemaCodec,
  context: TenantContext,
  windows: Map<string, TenantWindow>,
): Promise<BatchFold> {
  const byTenant = new Map<string, PositionedMessage[]>();
  const events = await codec.decodeFields(
    Topics.messageSubmitted,
    records.map((record) => record.value!),
    SCORED_FIELDS,
  );
  for (const [i, record] of records.entries()) {
    const event = events[i]!;
    if (isRelayguardError(event)) throw event;
    const message = validateMessage(event);
    let messages = byTenant.get(message.tenantId);
    if (!messages) {
      messages = [];
      byTenant.set(message.tenantId, messages);
    }
    messages.push({
      position: { partition: record.partition, offset: record.offset },
      message,
      eventId: event.eventId,
      queueId: event.queueId,
    });
  }
  const fold = new BatchFold(DEFAULT_POLICY, context);
  for (const [tenantId, messages] of byTenant) {
    let window = windows.get(tenantId);
    if (!window) {
      window = emptyWindow();
      windows.set(tenantId, window);
    }
    fold.tenant(window, tenantId, messages);
  }
  return fold;
}

export const coreBenchmark = defineBenchmark({
  id: 'core',
  title: '3 pure core',
  sizes: SIZES,
  async run({ sizes: { tenants, perRound, rounds }, progress, figure }) {
    const codec = new EmbeddedCodec();
    const context = scoringContext(fleetDirectory(tenants));
    progress.phase('encoding events', 1);
    const batches = batchesOf(await asRecords(codec, fleetEvents(tenants, perRound)), 500);
    progress.tick();

    // Every round folds the same stream into fresh windows: the first one warms the JIT and is not counted.
    progress.phase('folding', rounds + 1);
    const perCpuSecond: number[] = [];
    const perWallSecond: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      const windows = new Map<string, TenantWindow>();
      const spent = await timed(async () => {
        for (const batch of batches) await foldBatch(batch, codec, context, windows);
      });
      if (round > 0) {
        perCpuSecond.push(perRound / (spent.cpuMs / 1000));
        perWallSecond.push(perRound / (spent.wallMs / 1000));
      }
      progress.tick();
    }
    return [
      figure(
        'events per CPU-second (one core), median',
        median(perCpuSecond),
        format.rate,
        atLeast(500_000, '500,000/s'),
      ),
      figure('events per wall-clock second, median', median(perWallSecond), format.rate),
    ];
  },
});
