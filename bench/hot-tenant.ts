// Benchmark 13: the hot-tenant limit. One tenant's events, in time order at HOT_RATE messages a second of event
// time (its minutes full, its de-duplication state at its cap), through Scorer.handleBatch on a real Redis in
// batches of 500, flushed at the default commit interval, as scorer-redis.ts runs the fleet. A tenant's events all
// live in one partition, which one scorer process handles on one thread: the node process's CPU per event is the
// most that tenant can send per CPU-second before its scorer saturates (the Kafka fetch and decompression, not
// counted here, come on top). Rounds alternate with the fleet's mix (2,000 tenants) on the same scorer code, so
// load from elsewhere hits both; figures are medians over the rounds.
import { Redis } from 'ioredis';
import { Topics } from '../services/core/topics.js';
import type { LogRecord } from '../services/platform/ports.js';
import { startRedis } from '../test/support/redis-server.js';
import { defineBenchmark, format, median, timed } from './harness.js';
import { redisCpuSeconds } from './redis-support.js';
import { BATCH_SIZE, COMMIT_INTERVAL_MS, type ScorerOnRedis, scorerOnRedis } from './scorer-redis.js';
import { asRecords, batchesOf, fleetDirectory, fleetEvents, START } from './workload.js';

const SIZES = {
  quick: { tenants: 500, perRound: 2_000, rounds: 2 },
  measured: { tenants: 2_000, perRound: 30_000, rounds: 5 },
};

/** The hot tenant's rate in event time: the fault row's flood (docs/chaos.md, hot-tenant). */
const HOT_RATE = 20_000;

interface PerEvent {
  readonly nodeUs: number;
  readonly redisUs: number;
}

/** One slice through the scorer, flushed at the commit interval and at its end: node and Redis CPU per event. */
async function scoreSlice(
  { scorer }: ScorerOnRedis,
  slice: readonly LogRecord[],
  redisCpu: () => Promise<number>,
): Promise<PerEvent> {
  const redisBefore = await redisCpu();
  const spent = await timed(async () => {
    let flushed = performance.now();
    for (const records of batchesOf(slice, BATCH_SIZE)) {
      await scorer.handleBatch({ topic: Topics.messageSubmitted, partition: 0, records, lag: 0 });
      if (performance.now() - flushed < COMMIT_INTERVAL_MS) continue;
      await scorer.flush();
      flushed = performance.now();
    }
    await scorer.flush();
  });
  const redisSeconds = (await redisCpu()) - redisBefore;
  return { nodeUs: (spent.cpuMs * 1e3) / slice.length, redisUs: (redisSeconds * 1e6) / slice.length };
}

export const hotTenantBenchmark = defineBenchmark({
  id: 'hot-tenant',
  title: '13 hot tenant',
  sizes: SIZES,
  async run({ sizes: { tenants, perRound, rounds }, progress, figure }) {
    progress.phase('starting Redis, encoding events', 1);
    const redis = await startRedis();
    try {
      const directory = fleetDirectory(tenants);
      const hot = await scorerOnRedis(redis.url, directory, COMMIT_INTERVAL_MS);
      const fleet = await scorerOnRedis(`${redis.url}/1`, directory, COMMIT_INTERVAL_MS);
      const admin = new Redis(redis.url);
      const redisCpu = () => redisCpuSeconds(admin);
      const count = perRound * (rounds + 1);
      // tenant-0's share of the fleet's mix of domains, re-timed to HOT_RATE a second.
      const hotEvents = fleetEvents(1, count).map((event, k) => ({
        ...event,
        occurredAt: START + Math.floor((k * 1000) / HOT_RATE),
      }));
      const hotRecords = await asRecords(hot.codec, hotEvents);
      const fleetRecords = await asRecords(fleet.codec, fleetEvents(tenants, count));
      progress.tick();

      const results = { hot: [] as PerEvent[], fleet: [] as PerEvent[] };
      progress.phase('rounds: hot tenant, fleet', rounds + 1);
      for (let round = 0; round <= rounds; round++) {
        const at = (records: LogRecord[]) => records.slice(round * perRound, (round + 1) * perRound);
        const hotRound = await scoreSlice(hot, at(hotRecords), redisCpu);
        const fleetRound = await scoreSlice(fleet, at(fleetRecords), redisCpu);
        // Round 0 fills the windows and warms up: not counted.
        if (round > 0) {
          results.hot.push(hotRound);
          results.fleet.push(fleetRound);
        }
        progress.tick();
      }
      await Promise.all([hot.store.close(), fleet.store.close(), admin.quit()]);

      const µs = (n: number) => `${n.toFixed(1)} µs`;
      const nodeUs = median(results.hot.map((r) => r.nodeUs));
      return [
        figure('hot tenant: CPU per event, node process', nodeUs, µs),
        figure('hot tenant: CPU per event, redis-server', median(results.hot.map((r) => r.redisUs)), µs),
        figure('hot tenant limit: its msg/s per scorer CPU-second', 1e6 / nodeUs, format.rate),
        figure('fleet mix: CPU per event, node process', median(results.fleet.map((r) => r.nodeUs)), µs),
        figure('fleet mix: CPU per event, redis-server', median(results.fleet.map((r) => r.redisUs)), µs),
      ];
    } finally {
      await redis.stop();
    }
  },
});
