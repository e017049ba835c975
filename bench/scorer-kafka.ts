// Benchmark 2 (and 7): the scorer end to end on the production adapters against the consumer alone. A backlog
// of MessageSubmitted in Kafka (librdkafka's mock cluster, 3 brokers, 6 partitions), Avro through the Schema
// Registry codec (double). The scorer as its process runs it: decode, classify, windows cached between chunks of
// 500 and saved to a real Redis at the default commit interval (at once when caught up), then the offsets they
// cover committed. The baseline: the same KafkaEventLog subscription (same partitions, chunks of 500, commit per
// chunk) whose handler only decodes each record with the same registry codec. Each pass is a consumer group of
// its own, timed from the first chunk handed to its handler to the last offset committed, so the group's join
// (3 s on the mock cluster) is not counted. The passes run baseline, scorer, baseline: the two baselines
// bracket the scorer, so load from elsewhere that rises or falls during the run hits both sides alike.
// Redis round trips are the socket writes of the window store's client; Redis commands come from INFO stats.

import type { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { productionAdapters } from '../services/app/adapters.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../services/core/policy.js';
import { Topics } from '../services/core/topics.js';
import { loadConfig } from '../services/platform/config.js';
import { deferred } from '../services/platform/deferred.js';
import { createKafka } from '../services/platform/kafka/kafka-client.js';
import { silentLogger } from '../services/platform/logger.js';
import { Metrics } from '../services/platform/metrics.js';
import type { EventLog, OutgoingRecord } from '../services/platform/ports.js';
import type { RedisWindowStore } from '../services/platform/redis/redis-window-store.js';
import { SCORER_GROUP, Scorer } from '../services/scorer/scorer.js';
import { startProductionStack } from '../test/support/production-stack.js';
import {
  atMost,
  defineBenchmark,
  format,
  type Progress,
  type Spent,
  timed,
  withCleanups,
} from './harness.js';
import { countRoundTrips, info } from './redis-support.js';
import { fleetDirectory, fleetEvents } from './workload.js';

const SIZES = {
  quick: { tenants: 500, count: 5_000 },
  measured: { tenants: 2_000, count: 60_000 },
};

const PARTITIONS = 6;

/** Commands clients sent (the window store sends only HGETALL and EVALSHA/EVAL), and all commands executed. */
async function commandCounts(client: Redis): Promise<{ sent: number; executed: number }> {
  const text = await client.info('commandstats');
  const calls = (command: string) =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const executed = (await info(client, 'stats')).get('total_commands_processed')!;
  return { sent: calls('hgetall') + calls('evalsha') + calls('eval'), executed };
}

/** The same log, telling when the first batch of MessageSubmitted reaches a handler (a pass starts then). */
function noticingFirstBatch(log: EventLog, onFirst: () => void): EventLog {
  return {
    publish: (topic, records) => log.publish(topic, records),
    close: () => log.close(),
    settled: () => log.settled(),
    subscribe: (options) =>
      log.subscribe(
        options.topics.includes(Topics.messageSubmitted)
          ? {
              ...options,
              handleBatch: (batch) => {
                onFirst();
                return options.handleBatch(batch);
              },
            }
          : options,
      ),
  };
}

/** Offsets a group has committed on the backlog's topic, summed over the partitions. */
async function committedBy(admin: Admin, groupId: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [Topics.messageSubmitted] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/**
 * One pass over the backlog of `count` events by the consumer that `start` subscribes on `log` under `groupId`:
 * timed from its first batch to its last commit, then stopped.
 */
async function pass(
  log: EventLog,
  admin: Admin,
  groupId: string,
  count: number,
  progress: Progress,
  start: (log: EventLog) => Promise<{ stop(): Promise<void> }>,
): Promise<Spent> {
  const first = deferred();
  const consumer = await start(noticingFirstBatch(log, () => first.resolve()));
  try {
    await first.promise;
    let done = 0;
    return await timed(async () => {
      while (done < count) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const now = await committedBy(admin, groupId);
        progress.tick(now - done);
        done = now;
      }
    });
  } finally {
    await consumer.stop();
  }
}

const BASELINE_GROUP = 'relayguard-bench-consumer-alone';

export const scorerKafkaBenchmark = defineBenchmark({
  id: 'scorer-kafka',
  title: '2 scorer on Kafka',
  sizes: SIZES,
  async run({ sizes: { tenants, count }, progress, figure }) {
    progress.phase('starting Kafka mock, registry, Redis', 1);
    return withCleanups(async (defer) => {
      const stack = await startProductionStack({ partitions: PARTITIONS });
      defer(() => stack.stop());
      const config = loadConfig({ ...stack.env, RELAYGUARD_LOG_LEVEL: 'silent' });
      const adapters = productionAdapters(config, silentLogger);
      const store = adapters.store as RedisWindowStore;
      defer(() => store.close());
      defer(() => adapters.log.close());
      await store.ready();
      progress.tick();

      progress.phase('publishing the backlog', count / 5_000);
      const events = fleetEvents(tenants, count);
      for (let from = 0; from < count; from += 5_000) {
        const records: OutgoingRecord[] = await Promise.all(
          events.slice(from, from + 5_000).map(async (event) => ({
            key: event.tenantId,
            value: await adapters.codec.encode(Topics.messageSubmitted, event),
          })),
        );
        await adapters.log.publish(Topics.messageSubmitted, records);
        progress.tick();
      }

      const admin = createKafka(config.kafka!, silentLogger).admin();
      await admin.connect();
      defer(() => admin.disconnect());

      const consumerAlone = (round: number) => {
        const groupId = `${BASELINE_GROUP}-${round}`;
        progress.phase(`consumer alone, pass ${round}`, count);
        return pass(adapters.log, admin, groupId, count, progress, (log) =>
          log.subscribe({
            groupId,
            topics: [Topics.messageSubmitted],
            maxBatchSize: 500,
            handleBatch: async (batch): Promise<void> => {
              for (const record of batch.records) {
                await adapters.codec.decode(Topics.messageSubmitted, record.value!);
              }
            },
          }),
        );
      };

      const before = await consumerAlone(1);
      const trips = countRoundTrips(store.client as Redis);
      const commandsBefore = await commandCounts(store.client as Redis);
      progress.phase('scorer', count);
      const scoring = await pass(adapters.log, admin, SCORER_GROUP, count, progress, async (log) => {
        const scorer = new Scorer({
          ...adapters,
          log,
          directory: fleetDirectory(tenants),
          policy: DEFAULT_POLICY,
          logger: silentLogger,
          metrics: new Metrics({ processMetrics: false }),
          maxClockSkewMs: MINUTE_MS,
          maxBatchSize: 500,
          // As the scorer process runs: windows cached, saved and committed at the default commit interval.
          windowCacheTenants: config.scorer.windowCacheTenants,
          commitIntervalMs: config.scorer.commitIntervalMs,
        });
        await scorer.start();
        return scorer;
      });
      const windowTrips = trips.count();
      const commandsAfter = await commandCounts(store.client as Redis);
      const sent = commandsAfter.sent - commandsBefore.sent;
      // The executed counter includes the first INFO (not the second): one command taken off.
      const executed = commandsAfter.executed - commandsBefore.executed - 1;
      const after = await consumerAlone(2);

      const rate = (spent: Spent) => count / (spent.wallMs / 1000);
      const cpuPerEvent = (spent: Spent) => (spent.cpuMs * 1e3) / count;
      const baselineRate = (rate(before) + rate(after)) / 2;
      const baselineCpu = (cpuPerEvent(before) + cpuPerEvent(after)) / 2;
      const micros = (n: number) => `${n.toFixed(1)} µs`;
      return [
        figure(
          `scorer events/s, ${PARTITIONS} partitions, chunks of 500, commit every ${config.scorer.commitIntervalMs} ms`,
          rate(scoring),
          format.rate,
        ),
        figure(
          'consumer alone (decode only) events/s, mean of the passes before and after',
          baselineRate,
          format.rate,
        ),
        figure(
          'throughput scoring costs (1 − scorer ÷ consumer alone)',
          1 - rate(scoring) / baselineRate,
          format.percent,
          atMost(0.25, '25%'),
        ),
        figure('Redis round trips per event', windowTrips / count, format.fixed(4), atMost(0.01, '0.01')),
        figure('Redis commands sent per event (HGETALL, EVALSHA)', sent / count, format.fixed(2)),
        figure(
          'Redis commands executed per event (with those in the save script)',
          executed / count,
          format.fixed(2),
        ),
        figure('node CPU per event, scorer (+ this benchmark)', cpuPerEvent(scoring), micros),
        figure('node CPU per event, consumer alone (+ this benchmark)', baselineCpu, micros),
        figure(
          'consumer alone ÷ scorer, node CPU per event',
          baselineCpu / cpuPerEvent(scoring),
          format.percent,
        ),
      ];
    });
  },
});
