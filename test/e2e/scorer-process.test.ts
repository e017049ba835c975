// `relayguard scorer` as its own process against Kafka (a real Apache Kafka broker; librdkafka's mock cluster for
// the injected JoinGroup error), the Schema Registry (double) and Redis: SIGTERM finishes the batch in hand, commits and leaves, and a
// restarted scorer counts every event exactly once; a consumer crash that kafkajs will not restart ends the
// process with a non-zero exit code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { productionAdapters } from '../../services/app/adapters.js';
import { type Runtime, startRuntime } from '../../services/app/runtime.js';
import { Topics } from '../../services/core/topics.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka/kafka-client.js';
import { silentLogger } from '../../services/platform/logger.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { messageSubmitted, onpremConnector } from '../support/builders.js';
import type { KafkaMock } from '../support/kafka-mock.js';
import { OPERATOR } from '../support/pipeline-driver.js';
import { type ProductionStack, startProductionStack } from '../support/production-stack.js';
import { startServiceProcess } from '../support/scorer-process.js';
import { waitFor } from '../support/tether.js';

// The scorer process reads the system clock: events from the last half hour are neither future nor stale.
const START = Date.now() - 30 * 60_000;
/** Kafka's JoinGroup API key, and a non-retriable error code for it (GROUP_AUTHORIZATION_FAILED). */
const JOIN_GROUP = 11;
const GROUP_AUTHORIZATION_FAILED = 30;

describe('relayguard scorer as a process', () => {
  let stack: ProductionStack;
  let adminRuntime: Runtime;
  let kafkaAdmin: Admin;

  before(async () => {
    stack = await startProductionStack();
    // This process plays the operator: the admin service publishes the tenants' domains and connectors.
    const config = loadConfig({ ...stack.env, RELAYGUARD_LOG_LEVEL: 'silent' });
    adminRuntime = await startRuntime(config, {
      services: ['admin'],
      logger: silentLogger,
      adapters: productionAdapters(config, silentLogger),
    });
    await adminRuntime.ready;
    kafkaAdmin = createKafka(config.kafka!, silentLogger).admin();
    await kafkaAdmin.connect();
  });
  after(async () => {
    await kafkaAdmin?.disconnect();
    await adminRuntime?.stop();
    await stack?.stop();
  });

  /** Records the scorer group has committed, and records in the topic. */
  async function progress(): Promise<{ committed: number; end: number }> {
    const ends = await kafkaAdmin.fetchTopicOffsets(Topics.messageSubmitted);
    const [offsets] = await kafkaAdmin.fetchOffsets({
      groupId: SCORER_GROUP,
      topics: [Topics.messageSubmitted],
    });
    const committed = (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    return { committed, end: ends.reduce((sum, p) => sum + Number(p.high), 0) };
  }

  it('finishes and commits on SIGTERM; a restarted scorer counts every event exactly once', async (t) => {
    const admin = adminRuntime.admin!;
    const tenants = ['proc-a', 'proc-b', 'proc-c', 'proc-d'];
    for (const [i, tenantId] of tenants.entries()) {
      await admin.putAcceptedDomain(OPERATOR, tenantId, `${tenantId}.example`, false);
      await admin.putConnector(
        OPERATOR,
        tenantId,
        `${tenantId}-connector`,
        onpremConnector(`192.0.2.${i * 16}/28`),
      );
    }
    const { codec, log } = adminRuntime.adapters;
    const publishSlice = async (from: number, count: number) => {
      const records = await Promise.all(
        Array.from({ length: count }, async (_, k) => {
          const i = from + k;
          const tenantId = tenants[i % tenants.length]!;
          const event = messageSubmitted({
            tenantId,
            occurredAt: START + i * 100,
            envelopeSenderDomain: i % 3 === 0 ? `other${i % 7}.example` : `${tenantId}.example`,
          });
          return { key: tenantId, value: await codec.encode(Topics.messageSubmitted, event) };
        }),
      );
      await log.publish(Topics.messageSubmitted, records);
    };

    const first = await startServiceProcess(stack.env);
    await first.ready;
    const total = 8_000;
    let published = 0;
    for (; published < total / 2; published += 500) await publishSlice(published, 500);
    // Stop while it works: once something is committed, before the end (a fast scorer may finish first).
    await waitFor(async () => (await progress()).committed > 0, {
      timeoutMs: 30_000,
      description: 'a first commit',
    });
    const exit = await first.process.stop(20_000);
    const atStop = await progress();
    t.diagnostic(`at the SIGTERM ${atStop.committed} of ${atStop.end} events were committed`);
    assert.deepEqual(exit, { code: 0, signal: null }, 'a graceful stop exits 0');
    assert.ok(first.logs.some((entry) => String(entry.msg).startsWith('shutting down')));
    for (; published < total; published += 500) await publishSlice(published, 500);

    const second = await startServiceProcess(stack.env);
    await second.ready;
    await waitFor(async () => (await progress()).committed === total, {
      timeoutMs: 60_000,
      description: `the restarted scorer to commit all ${total} events (${atStop.committed} were committed at the stop)`,
    });
    let counted = 0;
    for (const tenantId of tenants) counted += (await admin.status(tenantId)).counters.total;
    assert.equal(counted, total, 'every event counted once across the stop and the restart');
    assert.deepEqual(await second.process.stop(20_000), { code: 0, signal: null });
  });
});

// The mock cluster injects the JoinGroup error (a real broker answers it to a principal without the group's ACL:
// test/e2e/kafka-security.test.ts).
describe('relayguard scorer as a process, on librdkafka mock cluster', () => {
  let stack: ProductionStack<KafkaMock>;
  before(async () => {
    stack = await startProductionStack({ mock: true });
  });
  after(() => stack?.stop());

  it('exits non-zero when a consumer crashed and kafkajs will not restart it', async () => {
    // The next JoinGroup (the new process's first) fails with an error kafkajs does not retry.
    await stack.kafka.pushRequestErrors(JOIN_GROUP, [GROUP_AUTHORIZATION_FAILED]);
    const scorer = await startServiceProcess(stack.env);
    const exit = await scorer.process.exited;
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.ok(
      scorer.logs.some((entry) => entry.msg === 'kafka consumer crashed and will not restart'),
      'the crash is logged as fatal',
    );
    // Whoever started it reads why on stderr, in one line, not only in the JSON log.
    assert.match(scorer.stderr(), /^relayguard: stopped after a failure that will not heal: .*group.*\n$/i);
  });
});
