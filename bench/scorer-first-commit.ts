// A scorer alone's start on the real Apache Kafka broker: `relayguard scorer` spawned, as users run it, and timed
// until it logs that it is ready and until its group first commits past the events published before it started
// (its directory slice loaded, the events scored). Restarted `restarts` times on one stack, new events each time.
//   npx tsx bench/scorer-first-commit.ts [tenants=2000] [restarts=5] [events=3000]

import { Topics } from '../services/core/topics.js';
import { RegistryCodec } from '../services/platform/codec/registry-codec.js';
import { loadConfig } from '../services/platform/config.js';
import { KafkaEventLog } from '../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../services/platform/logger.js';
import type { OutgoingRecord } from '../services/platform/ports.js';
import { SCORER_GROUP } from '../services/scorer/scorer.js';
import { withKafkaAdmin } from '../test/support/kafka-broker.js';
import { startProductionStack } from '../test/support/production-stack.js';
import { startServiceProcess } from '../test/support/scorer-process.js';
import { median, withCleanups } from './harness.js';
import { batchesOf, fleetEvents, stateRecord, tenantChanges } from './workload.js';

const [tenants = 2_000, restarts = 5, events = 3_000] = process.argv.slice(2).map(Number);

await withCleanups(async (defer) => {
  const stack = await startProductionStack({ partitions: 3 });
  defer(() => stack.stop());
  const config = loadConfig(stack.env);
  const codec = new RegistryCodec(config.schemaRegistry!);
  const log = new KafkaEventLog({ kafka: config.kafka!, logger: silentLogger });
  defer(() => log.close());
  for (const chunk of batchesOf(
    Array.from({ length: tenants }, (_, i) => i),
    5_000,
  )) {
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const change of chunk.flatMap(tenantChanges)) {
      const { topic, key } = stateRecord(change);
      const batch = byTopic.get(topic) ?? [];
      batch.push({ key, value: await codec.encode(topic as never, change.event as never) });
      byTopic.set(topic, batch);
    }
    await Promise.all([...byTopic].map(([topic, batch]) => log.publish(topic, batch)));
  }
  const rows = await withKafkaAdmin(stack.kafka, (admin) =>
    timedStarts(
      stack.env,
      async () => {
        // The group's coordinator is not there at once: asked again until it answers.
        for (;;) {
          const asked = await admin
            .fetchOffsets({ groupId: SCORER_GROUP, topics: [Topics.messageSubmitted] })
            .catch(() => undefined);
          if (asked)
            return asked[0]!.partitions.reduce((sum, { offset }) => sum + Math.max(0, Number(offset)), 0);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
      (run) => publishEvents(log, codec, run),
    ),
  );
  process.stdout.write(
    `median of ${restarts}: spawn to ready ${Math.round(median(rows.map((row) => row.readyMs)))} ms, ready to first commit ${Math.round(median(rows.map((row) => row.firstCommitMs - row.readyMs)))} ms, spawn to first commit ${Math.round(median(rows.map((row) => row.firstCommitMs)))} ms\n`,
  );
});

/** New events, then the scorer spawned and timed: `restarts` times. */
async function timedStarts(
  env: Readonly<Record<string, string>>,
  committed: () => Promise<number>,
  publishEvents: (run: number) => Promise<void>,
) {
  const rows: Array<{ readyMs: number; firstCommitMs: number; sliceLoads: number }> = [];
  for (let run = 0; run < restarts; run++) {
    const before = await committed();
    await publishEvents(run);
    const started = performance.now();
    const scorer = await startServiceProcess(env, 'scorer');
    await scorer.ready;
    const readyMs = performance.now() - started;
    while ((await committed()) <= before) await new Promise((resolve) => setTimeout(resolve, 50));
    const firstCommitMs = performance.now() - started;
    const loads = scorer.logs.filter((line) => String(line.msg).startsWith('loaded the directory slice'));
    const sliceLoads = loads.length;
    if (process.env.BENCH_VERBOSE)
      for (const line of scorer.logs.filter((entry) => Number(entry.level) >= 40 || loads.includes(entry)))
        process.stdout.write(`  ${JSON.stringify(line)}\n`);
    await scorer.process.stop(60_000);
    rows.push({ readyMs, firstCommitMs, sliceLoads });
    process.stdout.write(
      `run ${run + 1}: spawn to ready ${Math.round(readyMs)} ms, to first commit ${Math.round(firstCommitMs)} ms (ready to first commit ${Math.round(firstCommitMs - readyMs)} ms), slice loads ${sliceLoads}\n`,
    );
  }
  return rows;
}

async function publishEvents(log: KafkaEventLog, codec: RegistryCodec, run: number): Promise<void> {
  const published = fleetEvents(tenants, events, run + 1);
  const records = await Promise.all(
    published.map(async (event) => ({
      key: event.tenantId,
      value: await codec.encode(Topics.messageSubmitted, event),
    })),
  );
  await log.publish(Topics.messageSubmitted, records);
}
