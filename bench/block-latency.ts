// Benchmark 5: block latency. From publishing the event that crosses the threshold to the enforcer rejecting
// that tenant's unregistered sender: the event log, the scorer's batch, the block event, the directory feed.
// Each run is a fresh tenant that blocks after a few unregistered messages; the enforcer is asked on every
// turn of the event loop, so the figure is not rounded up to a polling interval. The same runs go through the
// embedded pipeline and through the production one — a real Apache Kafka broker, the Schema Registry double and a
// real Redis, where the enforcer learns the block by materializing the tenant-blocks topic from Kafka — and, for
// comparison, the production one on librdkafka's mock cluster, whose empty fetches always wait their full time.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MessageSubmitted } from '../services/core/contracts.generated.js';
import { messageSubmitted } from '../test/support/builders.js';
import { blockAfter, onboard } from '../test/support/enforcement.js';
import { type KafkaCluster, testKafkaVersion } from '../test/support/kafka-broker.js';
import type { KafkaMock } from '../test/support/kafka-mock.js';
import { type Pipeline, startPipeline, startProductionPipeline } from '../test/support/pipeline-driver.js';
import { type ProductionStack, startProductionStack } from '../test/support/production-stack.js';
import { atMost, defineBenchmark, format, median, percentile, withCleanups } from './harness.js';
import { tenantRange } from './workload.js';

const SIZES = {
  quick: { embeddedRuns: 10, kafkaRuns: 5 },
  measured: { embeddedRuns: 300, kafkaRuns: 100 },
};

const THRESHOLD = 5;
const TIMEOUT_MS = 30_000;

/** What the benchmark publishes into and asks decisions of, whatever the adapters. */
export interface BlockPipeline {
  publish(events: readonly MessageSubmitted[]): Promise<void>;
  /** Waits until everything published so far is scored and materialized. */
  settle(): Promise<void>;
  /** Onboards tenant number `i`, which blocks after THRESHOLD unregistered messages. */
  onboard(tenantId: string, i: number): Promise<void>;
  rejects(tenantId: string, sender: string): boolean;
  now(): number;
}

export function blockPipeline(pipeline: Pipeline): BlockPipeline {
  const enforcer = pipeline.runtime.enforcer!;
  return {
    publish: (events) => pipeline.publish(events),
    settle: () => pipeline.settle(),
    onboard: (tenantId, i) =>
      onboard(pipeline, {
        tenantId,
        acceptedDomain: `${tenantId}.example`,
        senderIpRange: tenantRange(i),
        policy: blockAfter(THRESHOLD),
      }),
    rejects: (tenantId, sender) => enforcer.decide({ tenantId, sender }, 'RCPT').action === 'REJECT',
    now: () => pipeline.clock.now(),
  };
}

/**
 * Milliseconds from publishing the crossing event to the first REJECT, one per run. Runs are numbered from
 * `first`: each is a fresh tenant with a sender range of its own, also across pipelines on one broker.
 */
export async function measureBlockLatency(
  pipeline: BlockPipeline,
  runs: number,
  tick: () => void,
  first = 0,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let run = first; run < first + runs; run++) {
    const tenantId = `latency-${run}`;
    const sender = `someone@spam-${run}.example`;
    await pipeline.onboard(tenantId, run);
    // On Kafka the directory feed and the scorer are separate consumers: the scorer must know the tenant's
    // policy before its events arrive.
    await pipeline.settle();
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

export const blockLatencyBenchmark = defineBenchmark({
  id: 'block-latency',
  title: '5 block latency',
  sizes: SIZES,
  async run({ sizes: { embeddedRuns, kafkaRuns }, progress, figure }) {
    const embedded = await withCleanups(async (defer) => {
      progress.phase('embedded pipeline', embeddedRuns);
      const driver = await startPipeline();
      defer(() => driver.stop());
      return measureBlockLatency(blockPipeline(driver), embeddedRuns, () => progress.tick());
    });
    const onKafka = (name: string, start: () => Promise<ProductionStack<KafkaCluster | KafkaMock>>) =>
      withCleanups(async (defer) => {
        progress.phase(`starting ${name}, registry, Redis, pipeline`, 1);
        const stack = await start();
        defer(() => stack.stop());
        const pipeline = await startProductionPipeline(stack, { RELAYGUARD_LOG_LEVEL: 'silent' });
        defer(() => pipeline.stop());
        progress.phase(`${name} + Redis pipeline`, kafkaRuns);
        return measureBlockLatency(blockPipeline(pipeline), kafkaRuns, () => progress.tick());
      });
    const broker = `Apache Kafka ${testKafkaVersion()}`;
    const kafka = await onKafka(broker, () => startProductionStack());
    const mock = await onKafka('Kafka mock', () => startProductionStack({ mock: true }));
    return [
      figure(`embedded, p50 of ${embeddedRuns} runs`, median(embedded), format.ms),
      figure(
        `embedded, p99 of ${embeddedRuns} runs`,
        percentile(embedded, 99),
        format.ms,
        atMost(1000, '1 s'),
      ),
      figure(`${broker} + Redis, p50 of ${kafkaRuns} runs`, median(kafka), format.ms),
      figure(
        `${broker} + Redis, p99 of ${kafkaRuns} runs`,
        percentile(kafka, 99),
        format.ms,
        atMost(250, '250 ms'),
      ),
      figure(`Kafka mock + Redis, p50 of ${kafkaRuns} runs`, median(mock), format.ms),
      figure(
        `Kafka mock + Redis, p99 of ${kafkaRuns} runs`,
        percentile(mock, 99),
        format.ms,
        atMost(2000, '2 s'),
      ),
    ];
  },
});
