// Benchmark 2: the scorer end to end on the production adapters: a backlog of MessageSubmitted in Kafka
// (librdkafka's mock cluster, 3 brokers, 6 partitions), Avro through the Schema Registry codec (double), windows
// in a real Redis, offsets committed after every chunk of 500; against the consumer alone (the same adapter
// consuming, decoding and committing the same backlog, nothing else). Each is measured from its first chunk
// handled to its last offset committed, so the consumer group's join is not counted. Redis round trips are the socket writes of
// the window store's client; Redis commands come from INFO stats (total_commands_processed).
import type { Redis } from 'ioredis';
import { DEFAULT_POLICY, MINUTE_MS } from '../services/core/policy.js';
import { Topics } from '../services/core/topics.js';
import { ManualClock } from '../services/platform/clock.js';
import { loadConfig } from '../services/platform/config.js';
import { createKafka } from '../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../services/platform/logger.js';
import { Metrics } from '../services/platform/metrics.js';
import type { OutgoingRecord } from '../services/platform/ports.js';
import type { RedisWindowStore } from '../services/platform/redis/redis-window-store.js';
import { productionAdapters } from '../services/platform/runtime.js';
import { SCORER_GROUP, Scorer } from '../services/scorer/scorer.js';
import { startProductionStack } from '../test/support/production-stack.js';
import { type Benchmark, figures, format, timed } from './harness.js';
import { countRoundTrips, info } from './redis-support.js';
import { fleetDirectory, fleetEvents, START } from './workload.js';

const PARTITIONS = 6;

/** Commands clients sent (the window store sends only HGETALL and EVALSHA/EVAL), and all commands executed. */
async function commandCounts(client: Redis): Promise<{ sent: number; executed: number }> {
  const text = await client.info('commandstats');
  const calls = (command: string) =>
    Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const executed = (await info(client, 'stats')).get('total_commands_processed')!;
  return { sent: calls('hgetall') + calls('evalsha') + calls('eval'), executed };
}

export const scorerKafkaBenchmark: Benchmark = {
  id: 'scorer-kafka',
  title: '2 scorer on Kafka',
  async run({ quick, progress }) {
    const tenants = quick ? 500 : 2_000;
    const count = quick ? 5_000 : 60_000;
    progress.phase('starting Kafka mock, registry, Redis', 1);
    const stack = await startProductionStack({ partitions: PARTITIONS });
    try {
      const config = loadConfig({ ...stack.env, RELAYGUARD_LOG_LEVEL: 'silent' });
      const adapters = productionAdapters(config, silentLogger);
      const store = adapters.store as RedisWindowStore;
      await store.ready();
      const clock = new ManualClock(START + 24 * 60 * MINUTE_MS);
      const scorer = new Scorer({
        ...adapters,
        directory: fleetDirectory(tenants),
        policy: DEFAULT_POLICY,
        clock,
        logger: silentLogger,
        metrics: new Metrics({ processMetrics: false }),
        maxClockSkewMs: MINUTE_MS,
        maxBatchSize: 500,
      });
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
      /** Times a group from its first chunk handled (not its join) to its last offset committed. */
      const consume = async (groupId: string, started: () => boolean) => {
        while (!started()) await new Promise((resolve) => setTimeout(resolve, 2));
        let done = 0;
        return timed(async () => {
          while (done < count) {
            await new Promise((resolve) => setTimeout(resolve, 25));
            const [offsets] = await admin.fetchOffsets({ groupId, topics: [Topics.messageSubmitted] });
            const now = (offsets?.partitions ?? []).reduce(
              (sum, p) => sum + Math.max(0, Number(p.offset)),
              0,
            );
            progress.tick(now - done);
            done = now;
          }
        });
      };

      // The baseline: kafkajs consuming and decoding the same topic (the same adapter, chunks and commits),
      // doing nothing else.
      progress.phase('consumer alone: consuming and decoding', count);
      let decoded = 0;
      const alone = await adapters.log.subscribe({
        groupId: 'bench-consumer-alone',
        topics: [Topics.messageSubmitted],
        maxBatchSize: 500,
        handleBatch: async (batch) => {
          for (const record of batch.records)
            await adapters.codec.decode(Topics.messageSubmitted, record.value!);
          decoded += batch.records.length;
        },
      });
      const baseline = await consume('bench-consumer-alone', () => decoded > 0);
      await alone.stop();

      const trips = countRoundTrips(store.client as Redis);
      const commandsBefore = await commandCounts(store.client as Redis);
      progress.phase('scorer: scoring the same backlog', count);
      await scorer.start();
      // The first chunk handled is the first window load.
      const spent = await consume(SCORER_GROUP, () => trips.count() > 0);
      const windowTrips = trips.count();
      const commandsAfter = await commandCounts(store.client as Redis);
      const sent = commandsAfter.sent - commandsBefore.sent;
      // The executed counter includes the first INFO (not the second): one command taken off.
      const executed = commandsAfter.executed - commandsBefore.executed - 1;
      await admin.disconnect();
      await scorer.stop();
      await adapters.log.close();
      await store.close();

      const figure = figures(this.title, quick);
      const scorerRate = count / (spent.wallMs / 1000);
      const baselineRate = count / (baseline.wallMs / 1000);
      return [
        figure(`scorer events/s, ${PARTITIONS} partitions, chunks of 500`, scorerRate, format.rate),
        figure('consumer alone events/s (consume, decode, commit)', baselineRate, format.rate),
        figure(
          'throughput scoring costs (1 − scorer ÷ consumer alone)',
          1 - scorerRate / baselineRate,
          format.percent,
          {
            text: '≤ 25%',
            met: (cost) => cost <= 0.25,
          },
        ),
        figure('Redis round trips per event', windowTrips / count, format.fixed(4), {
          text: '≤ 0.01',
          met: (n) => n <= 0.01,
        }),
        figure('Redis commands sent per event (HGETALL, EVALSHA)', sent / count, format.fixed(2)),
        figure(
          'Redis commands executed per event (with those in the save script)',
          executed / count,
          format.fixed(2),
        ),
        figure(
          'node CPU per event (scorer + this benchmark)',
          (spent.cpuMs * 1e3) / count,
          (n) => `${n.toFixed(1)} µs`,
        ),
      ];
    } finally {
      await stack.stop();
    }
  },
};
