// Benchmark 3: the pure core on one core. Decode (the scorer's BatchDecoder over the embedded Avro codec, Confluent
// wire format, one await per batch, the scored fields only), validate, normalize and group by tenant, classify against the directory, fold into the tenant's
// window (BatchFold, which also tallies outcomes and classes for the metrics): the scorer's handleBatch without
// the I/O, windows in a Map.

import { BatchFold } from '../services/core/fold.js';
import { DEFAULT_POLICY } from '../services/core/policy.js';
import type { TenantContext } from '../services/core/scoring.js';
import { Topics } from '../services/core/topics.js';
import { emptyWindow, type TenantWindow } from '../services/core/windows.js';
import { EmbeddedCodec } from '../services/platform/codec/embedded-codec.js';
import type { LogRecord } from '../services/platform/ports.js';
import { BatchDecoder } from '../services/scorer/batch-decoder.js';
import { scoringContext } from '../services/scorer/scorer.js';
import { atLeast, defineBenchmark, format, median, timed } from './harness.js';
import { asRecords, batchesOf, fleetDirectory, fleetEvents } from './workload.js';

/** The default RELAYGUARD_MAX_CLOCK_SKEW_SECONDS (120): the workload's record times are its event times. */
const MAX_CLOCK_SKEW_MS = 120_000;

const SIZES = {
  quick: { tenants: 1_000, perRound: 20_000, rounds: 2 },
  measured: { tenants: 10_000, perRound: 200_000, rounds: 7 },
};

/** One batch through the core, as Scorer.handleBatch does it minus the store and the event log. */
export async function foldBatch(
  records: readonly LogRecord[],
  decoder: BatchDecoder,
  context: TenantContext,
  windows: Map<string, TenantWindow>,
): Promise<BatchFold> {
  const { byTenant, deadLetters } = await decoder.decode({
    topic: Topics.messageSubmitted,
    partition: 0,
    records,
    lag: 0,
  });
  if (deadLetters.length > 0) throw deadLetters[0]!.error;
  const fold = new BatchFold(DEFAULT_POLICY, context);
  // forEach, not for-of: no entry array per tenant.
  byTenant.forEach((messages, tenantId) => {
    let window = windows.get(tenantId);
    if (!window) {
      window = emptyWindow();
      windows.set(tenantId, window);
    }
    fold.tenant(window, tenantId, messages);
  });
  return fold;
}

export const coreBenchmark = defineBenchmark({
  id: 'core',
  title: '3 pure core',
  sizes: SIZES,
  async run({ sizes: { tenants, perRound, rounds }, progress, figure }) {
    const codec = new EmbeddedCodec();
    const directory = fleetDirectory(tenants);
    const context = scoringContext(directory);
    const decoder = new BatchDecoder(codec, directory, MAX_CLOCK_SKEW_MS);
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
        for (const batch of batches) await foldBatch(batch, decoder, context, windows);
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
