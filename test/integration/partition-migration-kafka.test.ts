// deploy/RUNBOOK.md "Adding partitions", step by step on a real Kafka broker with `relayguard scorer` processes:
// events for 40 tenants; drain (lag 0, then one commit interval); stop the scorer; add partitions (the topic and its
// dead-letter topic, CreatePartitions); start the scorer with RELAYGUARD_PARTITIONS set to the new count; more events
// for the same tenants, many of which now land on another partition. Every tenant's window must count each event
// once (against a reference fold of all events) and no "moved to another partition" error is logged. Then the
// count grows again under the running scorer, and the error line is logged.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { productionAdapters } from '../../services/app/adapters.js';
import { Topics } from '../../services/core/topics.js';
import { loadConfig } from '../../services/platform/config.js';
import { keyPartition } from '../../services/platform/key-partition.js';
import { silentLogger } from '../../services/platform/logger.js';
import {
  type ChaosStack,
  caughtUp,
  compare,
  PARTITIONS,
  produce,
  realKafka,
  reference,
  type ServiceProcess,
  ServiceProcesses,
  startChaosStack,
  workload,
} from '../chaos/harness.js';
import { sleep } from '../chaos/scenarios.js';
import { withKafkaAdmin } from '../support/kafka-broker.js';

const COMMIT_INTERVAL_MS = 500;
const MOVED_ERROR = "a tenant's events moved to another partition";

/** Adds partitions to the topic and its dead-letter topic, as step 3 does. */
const addPartitions = (stack: ChaosStack, count: number) =>
  withKafkaAdmin(realKafka(stack), (admin) =>
    admin.createPartitions({
      topicPartitions: [Topics.messageSubmitted, Topics.messageSubmittedDlq].map((topic) => ({
        topic,
        count,
      })),
    }),
  );

/** Produces through a client of its own: the stack's producer knows the partition count it started with. */
async function produceFresh(stack: ChaosStack, events: Parameters<typeof produce>[1]): Promise<number> {
  const adapters = productionAdapters(loadConfig(stack.env), silentLogger);
  try {
    return await produce({ ...stack, adapters }, events, 20_000);
  } finally {
    await adapters.log.close();
    await adapters.store.close();
  }
}

describe('adding partitions (deploy/RUNBOOK.md) on Apache Kafka', { concurrency: false }, () => {
  const first = workload(2_000, 1);
  const second = workload(2_000, 2);
  let stack: ChaosStack;
  let services: ServiceProcesses;
  /** The scorer started after the partitions were added, still running for the second case. */
  let restarted: ServiceProcess | undefined;

  before(async () => {
    stack = await startChaosStack(first.tenants, {
      realKafka: true,
      brokers: 1,
      env: { RELAYGUARD_SCORER_COMMIT_INTERVAL_MS: String(COMMIT_INTERVAL_MS) },
    });
    services = new ServiceProcesses(stack.env);
  });
  after(async () => {
    await services?.stop();
    await stack?.stop();
  });

  it('drained, scorers stopped, partitions added, restarted: each event counted once, no error', async () => {
    const grown = PARTITIONS + 2;
    const moved = first.tenants.filter((t) => keyPartition(PARTITIONS)(t) !== keyPartition(grown)(t));
    const onNew = moved.filter((t) => keyPartition(grown)(t) >= PARTITIONS);
    assert.ok(
      moved.length >= 20 && onNew.length >= 5,
      `tenants moved: ${moved.length}, to new: ${onNew.length}`,
    );

    const before = services.add('scorer');
    await before.start();
    await before.ready();
    await produce(stack, first.events, 20_000); // 1. then the producers stop
    await caughtUp(stack, Date.now(), 30_000); // 2. lag 0 on every partition ...
    await sleep(COMMIT_INTERVAL_MS); // ... and one commit interval
    await before.stop(); // 3.
    await addPartitions(stack, grown);
    const env = { RELAYGUARD_PARTITIONS: String(grown) };
    const after = services.add('scorer', env); // 4.
    restarted = after;
    await after.start();
    await after.ready();
    assert.equal(await produceFresh({ ...stack, env: { ...stack.env, ...env } }, second.events), 2_000);
    await caughtUp(stack, Date.now(), 30_000);

    const all = { tenants: first.tenants, events: [...first.events, ...second.events] };
    const comparison = await compare(stack, all, reference(all));
    assert.deepEqual(
      { duplicates: comparison.duplicates, lost: comparison.lost, windows: comparison.windowsDiffering },
      { duplicates: 0, lost: 0, windows: 0 },
      comparison.details.join('\n'),
    );
    assert.ok(comparison.counted > 0 && comparison.counted === comparison.expected);
    // The moved tenants' windows were fed from their new partitions.
    const stored = await stack.adapters.store.load(moved);
    for (const tenantId of moved)
      assert.equal(
        stored.get(tenantId)?.window.watermark?.partition,
        keyPartition(grown)(tenantId),
        tenantId,
      );
    for (const proc of [before, after]) assert.doesNotMatch(proc.output, new RegExp(MOVED_ERROR));
    assert.deepEqual(services.unplannedExits, []);
  });

  it('partitions added under a running scorer: the error line names a moved tenant', async () => {
    const count = PARTITIONS + 2;
    const grown = count + 2;
    // Tenants moved among the partitions the running scorer already owns: their events reach it at once.
    const movedOld = first.tenants.filter(
      (t) => keyPartition(count)(t) !== keyPartition(grown)(t) && keyPartition(grown)(t) < count,
    );
    assert.ok(movedOld.length > 0);
    assert.ok(restarted?.running, 'the scorer of the first case runs');
    const logged = restarted.logged((entry) => String(entry.msg).startsWith(MOVED_ERROR), 30_000);
    await addPartitions(stack, grown);
    await produceFresh(
      { ...stack, env: { ...stack.env, RELAYGUARD_PARTITIONS: String(grown) } },
      workload(400, 3).events.filter((event) => movedOld.includes(event.tenantId)),
    );
    const entry = await logged;
    assert.ok(movedOld.includes(String(entry.tenantId)));
    assert.equal(entry.to, keyPartition(grown)(String(entry.tenantId)));
    assert.equal(entry.from, keyPartition(count)(String(entry.tenantId)));
  });
});
