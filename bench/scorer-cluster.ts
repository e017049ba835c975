// Benchmark 1b: benchmark 1 on a Redis Cluster beside one Redis, in one run, and what durability costs. Each
// deployment has replicas (one Redis with a replica; a cluster of three masters with one replica each) and two
// scorers on disjoint tenants: one whose saves are acknowledged by the master alone (REDIS_WAIT_REPLICAS=0), one
// whose saves wait for a replica (WAIT 1, REDIS_WAIT_REPLICAS=1). Each scorer runs as benchmark 1's does
// (batches of 500, windows cached, dirty ones saved by Scorer.flush at the default commit interval), and a
// per-message limiter runs beside it on the same deployment. Rounds of every side alternate, so load from
// elsewhere hits them alike; figures are medians over rounds, the batch time a p99 over every batch of every
// round (the batch's scoring plus the flush that follows it, when one does: what delays the offset commit).
import { Cluster, Redis } from 'ioredis';
import { Topics } from '../services/core/topics.js';
import type { LogRecord } from '../services/platform/ports.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { type RedisServer, startRedis } from '../test/support/redis-server.js';
import { waitFor } from '../test/support/tether.js';
import { atLeast, defineBenchmark, format, median, percentile, timed, withCleanups } from './harness.js';
import { countRoundTrips } from './redis-support.js';
import {
  BATCH_SIZE,
  COMMIT_INTERVAL_MS,
  PerMessageLimiter,
  SCORER_SIZES,
  type ScorerOnRedis,
  scorerOnRedis,
} from './scorer-redis.js';
import { asRecords, batchesOf, fleetDirectory, fleetEvents } from './workload.js';

interface Side {
  readonly name: string;
  readonly scorer: ScorerOnRedis;
  readonly records: LogRecord[];
  readonly rate: number[];
  readonly batchMs: number[];
  readonly trips: number[];
  readonly flushes: number[];
  /** Round trips made by the store's connections (one per master on a cluster). */
  readonly roundTrips: () => number;
}

/** Scores one round's slice as the scorer process does; returns the round's events/s. */
async function scoreRound(
  side: Side,
  slice: readonly LogRecord[],
): Promise<{ rate: number; flushes: number }> {
  let flushes = 0;
  const spent = await timed(async () => {
    let flushed = performance.now();
    for (const batch of batchesOf(slice, BATCH_SIZE)) {
      const started = performance.now();
      await side.scorer.scorer.handleBatch({
        topic: Topics.messageSubmitted,
        partition: 0,
        records: batch,
        lag: 0,
      });
      if (performance.now() - flushed >= COMMIT_INTERVAL_MS) {
        await side.scorer.scorer.flush();
        flushes++;
        flushed = performance.now();
      }
      side.batchMs.push(performance.now() - started);
    }
    await side.scorer.scorer.flush();
    flushes++;
  });
  return { rate: slice.length / (spent.wallMs / 1000), flushes };
}

/** One Redis and a replica in sync with it: WAIT 1 (and the startup check of REDIS_WAIT_REPLICAS) needs the sync. */
async function startRedisWithReplica(defer: (fn: () => unknown) => void): Promise<RedisServer> {
  const primary = await startRedis();
  defer(() => primary.stop());
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  defer(() => replica.stop());
  const admin = new Redis(primary.url);
  try {
    await waitFor(async () => /slave0:.*state=online/.test(await admin.info('replication')), {
      description: 'the replica to finish its first sync',
    });
  } finally {
    admin.disconnect();
  }
  return primary;
}

export const scorerClusterBenchmark = defineBenchmark({
  id: 'scorer-cluster',
  title: '1b scorer on one Redis and on a Redis Cluster',
  sizes: SCORER_SIZES,
  async run({ sizes: { tenants, perRound, naivePerRound, rounds }, progress, figure }) {
    progress.phase('starting one Redis with a replica and a Redis Cluster, encoding events', 1);
    return withCleanups(async (defer) => {
      const primary = await startRedisWithReplica(defer);
      const cluster = await startRedisCluster();
      defer(() => cluster.stop());
      const quitLater = (client: { quit(): Promise<unknown> }) =>
        defer(() => client.quit().catch(() => undefined));
      // The WAIT side scores the next `tenants` tenants: the same traffic, none of the other side's windows.
      const directory = fleetDirectory(tenants * 2);
      const onCluster = { clusterNodes: cluster.nodes };
      const deployments = [
        { name: 'one Redis', url: primary.url, store: {} },
        { name: 'Redis Cluster', url: cluster.url, store: onCluster },
      ];
      const sides: Side[] = [];
      const naive: { name: string; limiter: PerMessageLimiter; rate: number[] }[] = [];
      let codec: ScorerOnRedis['codec'] | undefined;
      for (const deployment of deployments) {
        for (const waitReplicas of [0, 1]) {
          const scorer = await scorerOnRedis(deployment.url, directory, COMMIT_INTERVAL_MS, {
            ...deployment.store,
            waitReplicas,
          });
          quitLater({ quit: () => scorer.store.close() });
          codec ??= scorer.codec;
          const events = fleetEvents(tenants, perRound * (rounds + 1), 7, waitReplicas * tenants);
          const client = scorer.store.client;
          const counters = (client instanceof Cluster ? client.nodes('master') : [client]).map(
            countRoundTrips,
          );
          sides.push({
            name: `${deployment.name}, ${waitReplicas === 0 ? 'no WAIT' : 'WAIT 1'}`,
            scorer,
            records: await asRecords(scorer.codec, events),
            rate: [],
            batchMs: [],
            trips: [],
            flushes: [],
            roundTrips: () => counters.reduce((sum, counter) => sum + counter.count(), 0),
          });
        }
        const naiveClient =
          'clusterNodes' in deployment.store
            ? new Cluster(
                cluster.nodes.map((node) => ({ ...node })),
                { enableOfflineQueue: false },
              )
            : new Redis(deployment.url, { enableOfflineQueue: false, lazyConnect: true });
        if (naiveClient instanceof Redis) await naiveClient.connect();
        else await new Promise((resolve) => naiveClient.once('ready', resolve));
        quitLater(naiveClient);
        naive.push({
          name: deployment.name,
          limiter: new PerMessageLimiter(naiveClient, codec!, directory),
          rate: [],
        });
      }
      progress.tick();

      progress.phase('rounds: every scorer, then every per-message limiter', rounds + 1);
      for (let round = 0; round <= rounds; round++) {
        for (const side of sides) {
          const slice = side.records.slice(round * perRound, (round + 1) * perRound);
          const before = side.roundTrips();
          // Round 0 fills the windows and warms up: its batches and rate are not counted.
          const counted = side.batchMs.length;
          const { rate, flushes } = await scoreRound(side, slice);
          if (round === 0) {
            side.batchMs.length = counted;
            continue;
          }
          side.rate.push(rate);
          side.trips.push((side.roundTrips() - before) / slice.length);
          side.flushes.push((side.roundTrips() - before) / flushes);
        }
        for (const { limiter, rate } of naive) {
          const slice = sides[0]!.records.slice(round * perRound, round * perRound + naivePerRound);
          const spent = await timed(async () => {
            for (const record of slice) await limiter.handle(record);
          });
          if (round > 0) rate.push(slice.length / (spent.wallMs / 1000));
        }
        progress.tick();
      }

      const ms = (n: number) => `${n.toFixed(1)} ms`;
      return [
        ...sides.flatMap((side) => [
          figure(`${side.name}: scorer events/s (median)`, median(side.rate), format.rate),
          figure(`${side.name}: p99 batch time, with the flush after it`, percentile(side.batchMs, 99), ms),
          figure(`${side.name}: Redis round trips per event`, median(side.trips), format.fixed(4)),
          figure(
            `${side.name}: Redis round trips per flush (loads included)`,
            median(side.flushes),
            format.fixed(1),
          ),
        ]),
        ...naive.flatMap(({ name, rate }) => {
          const scorer = sides.find((side) => side.name === `${name}, no WAIT`)!;
          return [
            figure(`${name}: naive events/s, one round trip each (median)`, median(rate), format.rate),
            figure(
              `${name}: scorer (no WAIT) ÷ naive, per round (median)`,
              median(scorer.rate.map((r, i) => r / rate[i]!)),
              format.ratio,
              atLeast(10, '10×'),
            ),
          ];
        }),
      ];
    });
  },
});
