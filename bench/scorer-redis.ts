// Benchmark 1: the scorer on a real Redis against the naive design. The same events go through
// Scorer.handleBatch with the RedisWindowStore in batches of 500, as the scorer process runs it: windows kept
// in its cache between batches (one pipelined load of the tenants it has not seen), dirty windows saved by
// Scorer.flush at the default commit interval and at the end of each round (one pipelined save), as its
// subscription calls it; and through a per-message rate limiter that makes one Redis round trip per event and
// awaits it (HINCRBY and PEXPIRE in a MULTI: how per-message limiters count). Rounds of the two alternate, so
// load from elsewhere on the machine hits both; the figures are medians over the rounds. A third side runs the
// same slices through a scorer that saves after every batch (commit interval 0, its own Redis database): the cost
// when tenants are too many for a window to take more than one batch's events per commit interval (uniform
// traffic over a million tenants), which the scale plan sizes for.
import { type Cluster, Redis } from 'ioredis';
import { classify, isRegistered, validateMessage } from '../services/core/classify.js';
import type { TenantDirectory } from '../services/core/directory.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../services/core/policy.js';
import { Topics } from '../services/core/topics.js';
import { ManualClock } from '../services/platform/clock.js';
import { EmbeddedCodec } from '../services/platform/codec/embedded-codec.js';
import { loadConfig } from '../services/platform/config.js';
import { silentLogger } from '../services/platform/logger.js';
import { MemoryEventLog } from '../services/platform/memory/memory-event-log.js';
import { Metrics } from '../services/platform/metrics.js';
import type { LogRecord, SchemaCodec } from '../services/platform/ports.js';
import {
  RedisWindowStore,
  type RedisWindowStoreOptions,
} from '../services/platform/redis/redis-window-store.js';
import { Scorer } from '../services/scorer/scorer.js';
import { startRedis } from '../test/support/redis-server.js';
import { atLeast, atMost, defineBenchmark, format, median, timed } from './harness.js';
import { countRoundTrips, redisCpuSeconds } from './redis-support.js';
import { asRecords, batchesOf, fleetDirectory, fleetEvents, START } from './workload.js';

export const BATCH_SIZE = 500;
/** The scorer's default commit interval (RELAYGUARD_SCORER_COMMIT_INTERVAL_MS). */
export const COMMIT_INTERVAL_MS = loadConfig({}).scorer.commitIntervalMs;
const TTL_MS = (DEFAULT_POLICY.windowMinutes + DEFAULT_POLICY.graceMinutes) * MINUTE_MS;

/** The naive design: every event decoded, classified, and counted with its own awaited round trip. */
export class PerMessageLimiter {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly codec: SchemaCodec,
    private readonly directory: TenantDirectory,
  ) {}

  async handle(record: LogRecord): Promise<void> {
    const message = validateMessage(await this.codec.decode(Topics.messageSubmitted, record.value!));
    const { tenantId, senderDomain } = message;
    const registered = senderDomain !== null && isRegistered(this.directory, tenantId, senderDomain);
    const messageClass = classify(senderDomain, message.relayPath, registered);
    const key = `naive:{t:${tenantId}}:${Math.floor(message.occurredAt / MINUTE_MS)}`;
    await this.redis.multi().hincrby(key, messageClass, 1).pexpire(key, TTL_MS).exec();
  }
}

export interface ScorerOnRedis {
  readonly scorer: Scorer;
  readonly store: RedisWindowStore;
  readonly directory: TenantDirectory;
  readonly codec: EmbeddedCodec;
}

/**
 * A scorer on the given Redis, fed by calling handleBatch directly: no event log between (benchmarks 1, 1b, 6).
 * With a commit interval its windows are saved only by flush (benchmark 1 calls it), else after every batch.
 * `store`: a Redis Cluster's nodes, the replicas a save waits for.
 */
export async function scorerOnRedis(
  url: string,
  directory: TenantDirectory,
  commitIntervalMs = 0,
  store: Omit<RedisWindowStoreOptions, 'url' | 'ttlMs'> = {},
): Promise<ScorerOnRedis> {
  const windowStore = new RedisWindowStore({ url, ttlMs: TTL_MS, ...store });
  await windowStore.verify();
  const clock = new ManualClock(START + 24 * 60 * MINUTE_MS);
  const codec = new EmbeddedCodec();
  const scorer = new Scorer({
    log: new MemoryEventLog({ clock }),
    codec,
    store: windowStore,
    directory,
    policy: DEFAULT_POLICY,
    logger: silentLogger,
    metrics: new Metrics({ processMetrics: false }),
    maxClockSkewMs: MINUTE_MS,
    commitIntervalMs,
  });
  return { scorer, store: windowStore, directory, codec };
}

/** Benchmark 1's workload, which 1b runs again on other deployments. */
export const SCORER_SIZES = {
  quick: { tenants: 500, perRound: 2_000, naivePerRound: 500, rounds: 2 },
  measured: { tenants: 2_000, perRound: 30_000, naivePerRound: 4_000, rounds: 5 },
};

export const scorerRedisBenchmark = defineBenchmark({
  id: 'scorer-redis',
  title: '1 scorer on Redis',
  sizes: SCORER_SIZES,
  async run({ sizes: { tenants, perRound, naivePerRound, rounds }, progress, figure }) {
    progress.phase('starting Redis, encoding events', 1);
    const redis = await startRedis();
    try {
      const { scorer, store, codec, directory } = await scorerOnRedis(
        redis.url,
        fleetDirectory(tenants),
        COMMIT_INTERVAL_MS,
      );
      const everyBatch = await scorerOnRedis(`${redis.url}/1`, directory, 0);
      const naiveClient = new Redis(redis.url, { enableOfflineQueue: false, lazyConnect: true });
      await naiveClient.connect();
      const admin = new Redis(redis.url);
      const limiter = new PerMessageLimiter(naiveClient, codec, directory);
      // One stream in time order: each round takes the next slice, so windows keep sliding and no event is a
      // duplicate of one already applied. Round 0 fills the windows and warms up; it is not counted.
      const records = await asRecords(codec, fleetEvents(tenants, perRound * (rounds + 1)));
      progress.tick();

      const storeTrips = countRoundTrips(store.client as Redis);
      const naiveTrips = countRoundTrips(naiveClient);
      const batched = {
        rate: [] as number[],
        trips: [] as number[],
        redisCpu: [] as number[],
        cpu: [] as number[],
      };
      const naive = { rate: [] as number[], trips: [] as number[] };
      const unbatched = { rate: [] as number[], redisCpu: [] as number[], cpu: [] as number[] };
      progress.phase('rounds: scorer, scorer saving every batch, naive', rounds + 1);
      for (let round = 0; round <= rounds; round++) {
        const slice = records.slice(round * perRound, (round + 1) * perRound);
        const tripsBefore = storeTrips.count();
        const redisCpuBefore = await redisCpuSeconds(admin);
        const spent = await timed(async () => {
          let flushed = performance.now();
          for (const batch of batchesOf(slice, BATCH_SIZE)) {
            await scorer.handleBatch({
              topic: Topics.messageSubmitted,
              partition: 0,
              records: batch,
              lag: 0,
            });
            if (performance.now() - flushed >= COMMIT_INTERVAL_MS) {
              await scorer.flush();
              flushed = performance.now();
            }
          }
          await scorer.flush();
        });
        const redisCpu = (await redisCpuSeconds(admin)) - redisCpuBefore;
        const trips = storeTrips.count() - tripsBefore;

        const everyBatchCpuBefore = await redisCpuSeconds(admin);
        const everyBatchSpent = await timed(async () => {
          for (const batch of batchesOf(slice, BATCH_SIZE))
            await everyBatch.scorer.handleBatch({
              topic: Topics.messageSubmitted,
              partition: 0,
              records: batch,
              lag: 0,
            });
        });
        const everyBatchRedisCpu = (await redisCpuSeconds(admin)) - everyBatchCpuBefore;

        const naiveSlice = slice.slice(0, naivePerRound);
        const naiveTripsBefore = naiveTrips.count();
        const naiveSpent = await timed(async () => {
          for (const record of naiveSlice) await limiter.handle(record);
        });
        if (round > 0) {
          batched.rate.push(slice.length / (spent.wallMs / 1000));
          batched.trips.push(trips / slice.length);
          batched.redisCpu.push((redisCpu * 1e6) / slice.length);
          batched.cpu.push((spent.cpuMs * 1e3) / slice.length);
          unbatched.rate.push(slice.length / (everyBatchSpent.wallMs / 1000));
          unbatched.redisCpu.push((everyBatchRedisCpu * 1e6) / slice.length);
          unbatched.cpu.push((everyBatchSpent.cpuMs * 1e3) / slice.length);
          naive.rate.push(naiveSlice.length / (naiveSpent.wallMs / 1000));
          naive.trips.push((naiveTrips.count() - naiveTripsBefore) / naiveSlice.length);
        }
        progress.tick();
      }
      await Promise.all([store.close(), everyBatch.store.close(), naiveClient.quit(), admin.quit()]);

      const ratios = batched.rate.map((rate, i) => rate / naive.rate[i]!);
      const µs = (n: number) => `${n.toFixed(1)} µs`;
      return [
        figure('scorer events/s, batches of 500 (median)', median(batched.rate), format.rate),
        figure('naive events/s, one round trip each (median)', median(naive.rate), format.rate),
        figure('scorer ÷ naive, per round (median)', median(ratios), format.ratio, atLeast(15, '15×')),
        figure(
          'scorer Redis round trips per event',
          median(batched.trips),
          format.fixed(4),
          atMost(0.01, '0.01'),
        ),
        figure('naive Redis round trips per event', median(naive.trips), format.fixed(2)),
        figure('scorer CPU per event, node process', median(batched.cpu), µs),
        figure('scorer CPU per event, redis-server', median(batched.redisCpu), µs),
        figure('saving every batch: scorer events/s (median)', median(unbatched.rate), format.rate),
        figure('saving every batch: CPU per event, node process', median(unbatched.cpu), µs),
        figure('saving every batch: CPU per event, redis-server', median(unbatched.redisCpu), µs),
      ];
    } finally {
      await redis.stop();
    }
  },
});
