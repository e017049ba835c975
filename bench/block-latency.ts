// Benchmark 5: block latency. From publishing the event that crosses the threshold to the enforcer rejecting
// that tenant's unregistered sender: the event log, the scorer's batch, the block event, the directory feed.
// Each run is a fresh tenant that blocks after a few unregistered messages; the enforcer is asked on every
// turn of the event loop, so the figure is not rounded up to a polling interval.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MessageSubmitted } from '../services/core/contracts.generated.js';
import { messageSubmitted } from '../test/support/builders.js';
import { blockAfter, onboard } from '../test/support/enforcement.js';
import { type PipelineDriver, startPipeline } from '../test/support/pipeline-driver.js';
import { type Benchmark, figures, format, median, percentile } from './harness.js';
import { tenantRange } from './workload.js';

const THRESHOLD = 5;
const TIMEOUT_MS = 30_000;

/** A pipeline that the benchmark publishes into and asks decisions of: embedded now, Kafka + Redis later. */
export interface BlockPipeline {
  publish(events: readonly MessageSubmitted[]): Promise<void>;
  /** Waits until everything published so far is scored and materialized. */
  settle(): Promise<void>;
  /** Onboards tenant number `i`, which blocks after THRESHOLD unregistered messages. */
  onboard(tenantId: string, i: number): Promise<void>;
  rejects(tenantId: string, sender: string): boolean;
  now(): number;
  stop(): Promise<void>;
}

export async function embeddedBlockPipeline(): Promise<BlockPipeline> {
  const driver: PipelineDriver = await startPipeline();
  const enforcer = driver.runtime.enforcer!;
  return {
    publish: (events) => driver.publish(events),
    settle: () => driver.settle(),
    onboard: (tenantId, i) =>
      onboard(driver, {
        tenantId,
        acceptedDomain: `${tenantId}.example`,
        senderIpRange: tenantRange(i),
        policy: blockAfter(THRESHOLD),
      }),
    rejects: (tenantId, sender) => enforcer.decide({ tenantId, sender }, 'RCPT').action === 'REJECT',
    now: () => driver.clock.now(),
    stop: () => driver.stop(),
  };
}

/** Milliseconds from publishing the crossing event to the first REJECT, one per run. */
export async function measureBlockLatency(
  pipeline: BlockPipeline,
  runs: number,
  tick: () => void,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let run = 0; run < runs; run++) {
    const tenantId = `latency-${run}`;
    const sender = `someone@spam-${run}.example`;
    await pipeline.onboard(tenantId, run);
    const spam = Array.from({ length: THRESHOLD }, () =>
      messageSubmitted({
        tenantId,
        occurredAt: pipeline.now(),
        envelopeSenderDomain: `spam-${run}.example`,
      }),
    );
    await pipeline.publish(spam.slice(0, -1));
    await pipeline.settle();
    if (pipeline.rejects(tenantId, sender)) throw new Error(`${tenantId} was blocked before the threshold`);
    const started = performance.now();
    await pipeline.publish(spam.slice(-1));
    while (!pipeline.rejects(tenantId, sender)) {
      if (performance.now() - started > TIMEOUT_MS)
        throw new Error(`${tenantId} was not blocked within ${TIMEOUT_MS} ms of crossing the threshold`);
      await nextTurn();
    }
    latencies.push(performance.now() - started);
    tick();
  }
  return latencies;
}

export const blockLatencyBenchmark: Benchmark = {
  id: 'block-latency',
  title: '5 block latency',
  async run({ quick, progress }) {
    const runs = quick ? 10 : 300;
    progress.phase('embedded pipeline', runs);
    const pipeline = await embeddedBlockPipeline();
    let latencies: number[];
    try {
      latencies = await measureBlockLatency(pipeline, runs, () => progress.tick());
    } finally {
      await pipeline.stop();
    }
    const figure = figures(this.title, quick);
    return [
      figure(`embedded, p50 of ${runs} runs`, median(latencies), format.ms),
      figure(`embedded, p99 of ${runs} runs`, percentile(latencies, 99), format.ms, {
        text: '≤ 1 s',
        met: (ms) => ms <= 1000,
      }),
    ];
  },
};
