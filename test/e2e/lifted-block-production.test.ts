// A lifted block stays lifted (docs/guarantees.md, issue 13's sequences) on the production stack: a real Apache
// Kafka broker, the Schema Registry double and a real Redis. Each sequence is driven by real faults — Redis
// refusing writes, a scorer process killed by SIGKILL, a scorer process frozen by SIGSTOP while another takes its
// partition — and every outcome is read from the tenant-blocks topic and from an enforcer's decisions, polled
// with bounded waits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { productionAdapters } from '../../services/app/adapters.js';
import { type Runtime, startRuntime } from '../../services/app/runtime.js';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka/kafka-client.js';
import { silentLogger } from '../../services/platform/logger.js';
import type { LogRecord, Subscription } from '../../services/platform/ports.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { ATTESTED } from '../support/admin-api.js';
import { messageSubmitted } from '../support/builders.js';
import { blockAfter, onboard, type TestTenant } from '../support/enforcement.js';
import { replayedDirectory } from '../support/episode-driver.js';
import { OPERATOR, type Pipeline, startProductionPipeline } from '../support/pipeline-driver.js';
import { type ProductionStack, startProductionStack } from '../support/production-stack.js';
import { type ServiceProcess, startServiceProcess } from '../support/scorer-process.js';
import { waitFor } from '../support/tether.js';

const MINUTE = 60_000;
/** Unregistered messages that block a test tenant (blockAfter): the spam sends twice as many. */
const THRESHOLD = 20;
const UNBLOCK = { ticket: 'SUP-1313', attestations: ATTESTED } as const;

/** A tenant whose mail server relays from `clientAddress`. */
type Tenant = TestTenant & { readonly clientAddress: string };

const tenantNamed = (tenantId: string, octet: number): Tenant => ({
  tenantId,
  acceptedDomain: `${tenantId}.example`,
  senderIpRange: `192.0.2.${octet}/28`,
  clientAddress: `192.0.2.${octet + 1}`,
  policy: blockAfter(THRESHOLD),
});

/** Unregistered mail of `tenantId`, one message every `spacingMs` from `from`. */
const spamOf = (tenantId: string, from: number, count = 2 * THRESHOLD, spacingMs = 1_000) =>
  Array.from({ length: count }, (_, i) =>
    messageSubmitted({
      tenantId,
      occurredAt: from + i * spacingMs,
      envelopeSenderDomain: `offer${i % 9}.example`,
    }),
  );

/** Mail from `tenantId`'s own domain. */
const mailOf = (tenant: Tenant, from: number, count: number, spacingMs = 1_000) =>
  Array.from({ length: count }, (_, i) =>
    messageSubmitted({
      tenantId: tenant.tenantId,
      occurredAt: from + i * spacingMs,
      envelopeSenderDomain: tenant.acceptedDomain,
    }),
  );

const ofTenant = (events: readonly TenantBlockEvent[], tenantId: string) =>
  events.filter((event) => event.tenantId === tenantId);
const kinds = (events: readonly TenantBlockEvent[]) => events.map((event) => event.kind);

/** What the tenant's own mail server is answered for unregistered mail. */
function decisionFor(runtime: Runtime, tenant: Tenant): string {
  const query = { clientAddress: tenant.clientAddress, sender: 'someone@offer1.example' };
  return runtime.enforcer!.decide(query, 'RCPT').action;
}

describe('a lifted block stays lifted, on Kafka + Schema Registry + Redis', () => {
  describe('a batch redelivered after its block was published', () => {
    let stack: ProductionStack;
    let driver: Pipeline;
    let redis: Redis;
    const START = Date.UTC(2026, 10, 28, 9);

    before(async () => {
      stack = await startProductionStack();
      driver = await startProductionPipeline(stack, {}, START);
      redis = new Redis(stack.env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
    });
    after(async () => {
      await redis?.quit();
      await driver?.stop();
      await stack?.stop();
    });

    it('publishes no new block from the old evidence after the unblock', async () => {
      const tenant = tenantNamed('lifted-redelivered', 16);
      await onboard(driver, tenant);
      // Redis refuses every write from now on (reads still answer): the batch that blocks publishes its block,
      // then fails to save its window and is redelivered, again and again, until Redis accepts writes.
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
      await redis.config('SET', 'maxmemory', '1');
      driver.clock.set(START + 12 * MINUTE);
      await driver.publish(spamOf(tenant.tenantId, START));
      await waitFor(
        async () => kinds(ofTenant(await driver.blockEvents(), tenant.tenantId)).includes('BLOCKED'),
        {
          timeoutMs: 20_000,
          description: 'the block of the batch whose save fails',
        },
      );
      await waitFor(async () => refusedWrites(await redis.info('errorstats')) >= 2, {
        timeoutMs: 20_000,
        description: 'the window save refused, and refused again after the redelivery',
      });
      assert.equal(decisionFor(driver.runtime, tenant), 'REJECT', 'blocked while the batch is redelivered');
      await redis.config('SET', 'maxmemory', '0');
      await driver.settle();

      // The unblock, and at once more of the tenant's mail, sent after it and below the thresholds on its own:
      // nothing to block, whichever the scorer handles first.
      driver.clock.set(START + 20 * MINUTE);
      await driver.runtime.admin!.unblock(OPERATOR, tenant.tenantId, UNBLOCK);
      assert.equal(decisionFor(driver.runtime, tenant), 'ACCEPT', 'the unblock is in force at once');
      await driver.publish(mailOf(tenant, START + 20 * MINUTE + 1_000, 30));
      await driver.settle();
      const events = ofTenant(await driver.blockEvents(), tenant.tenantId);
      assert.deepEqual(kinds(events), ['BLOCKED', 'UNBLOCKED'], 'one block, lifted, and no block after it');
      assert.equal(decisionFor(driver.runtime, tenant), 'ACCEPT');
      const status = await driver.runtime.admin!.status(tenant.tenantId);
      assert.equal(status.counters.unregistered, 0, 'the lifted evidence is cleared from the window');
      assert.equal(status.counters.total, 30, 'the mail after the unblock is counted');
    });
  });

  describe('scorer processes killed, frozen and restarted', () => {
    let stack: ProductionStack;
    let runtime: Runtime;
    let kafkaAdmin: Admin;
    let collector: Subscription;
    const blockRecords: LogRecord[] = [];
    const scorers: ServiceProcess[] = [];
    // The scorer process reads the system clock: the mail is from the last half hour.
    const start = Date.now() - 30 * MINUTE;

    before(async () => {
      // One partition: the tenant's spam and the backlog behind it are in the same partition, in that order.
      stack = await startProductionStack({ partitions: 1 });
      // This process plays the operator (admin) and a mail server's enforcer; the scorers are processes.
      const config = loadConfig({ ...stack.env, RELAYGUARD_LOG_LEVEL: 'silent' });
      runtime = await startRuntime(config, {
        services: ['admin', 'enforcer'],
        logger: silentLogger,
        adapters: productionAdapters(config, silentLogger),
      });
      await runtime.ready;
      kafkaAdmin = createKafka(config.kafka!, silentLogger).admin();
      await kafkaAdmin.connect();
      collector = await runtime.adapters.log.subscribe({
        groupId: null,
        topics: [Topics.tenantBlocks],
        handleBatch: async (batch) => {
          blockRecords.push(...batch.records);
        },
      });
      await collector.caughtUp;
    });
    after(async () => {
      for (const scorer of scorers) await scorer.process.kill();
      await collector?.stop();
      await kafkaAdmin?.disconnect();
      await runtime?.stop();
      await stack?.stop();
    });

    const scorer = async (env: Record<string, string> = {}) => {
      const started = await startServiceProcess({ ...stack.env, ...env });
      scorers.push(started);
      await started.ready;
      return started;
    };
    const blockEvents = () =>
      Promise.all(
        blockRecords.map((record) => runtime.adapters.codec.decode(Topics.tenantBlocks, record.value!)),
      );
    const publish = async (events: ReturnType<typeof messageSubmitted>[]) => {
      const { codec, log } = runtime.adapters;
      const records = await Promise.all(
        events.map(async (event) => ({
          key: event.tenantId,
          value: await codec.encode(Topics.messageSubmitted, event),
        })),
      );
      await log.publish(Topics.messageSubmitted, records);
    };
    /** Records the scorer group has committed, and records in the topic. */
    const progress = async () => {
      const ends = await kafkaAdmin.fetchTopicOffsets(Topics.messageSubmitted);
      const [offsets] = await kafkaAdmin.fetchOffsets({
        groupId: SCORER_GROUP,
        topics: [Topics.messageSubmitted],
      });
      const committed = (offsets?.partitions ?? []).reduce(
        (sum, p) => sum + Math.max(0, Number(p.offset)),
        0,
      );
      return { committed, end: ends.reduce((sum, p) => sum + Number(p.high), 0) };
    };

    it('a scorer killed after its block and before its flush does not re-impose it after the unblock', async () => {
      const tenant = tenantNamed('lifted-killed', 32);
      const bystander = tenantNamed('lifted-bystander', 48);
      await onboard({ runtime }, tenant);
      await onboard({ runtime }, bystander);
      // The spam, then a backlog of the bystander's mail behind it: the scorer publishes the block from its first
      // batch and, with a backlog and a long commit interval, saves nothing before it is killed.
      await publish(spamOf(tenant.tenantId, start));
      const backlog = mailOf(bystander, start, 30_000, 10);
      for (let i = 0; i < backlog.length; i += 2_000) await publish(backlog.slice(i, i + 2_000));
      const first = await scorer({ RELAYGUARD_SCORER_COMMIT_INTERVAL_MS: '60000' });
      await waitFor(async () => kinds(ofTenant(await blockEvents(), tenant.tenantId)).includes('BLOCKED'), {
        timeoutMs: 30_000,
        description: 'the block',
      });
      process.kill(first.process.pid, 'SIGSTOP');
      const atKill = await progress();
      await first.process.kill();
      assert.equal(atKill.committed, 0, 'killed before its first flush: nothing saved, nothing committed');
      await waitFor(() => decisionFor(runtime, tenant) === 'REJECT', {
        description: 'the enforcer to block',
      });

      await runtime.admin!.unblock(OPERATOR, tenant.tenantId, UNBLOCK);
      await waitFor(() => decisionFor(runtime, tenant) === 'ACCEPT', { description: 'the unblock in force' });

      // The restarted scorer replays the whole partition, the tenant's spam first.
      const second = await scorer();
      await waitFor(async () => (await progress()).committed === atKill.end, {
        timeoutMs: 45_000,
        description: `the restarted scorer to commit all ${atKill.end} events`,
      });
      const events = ofTenant(await blockEvents(), tenant.tenantId);
      assert.notEqual(events.at(-1)?.kind, 'BLOCKED', `the last record is not a block: ${kinds(events)}`);
      assert.equal(decisionFor(runtime, tenant), 'ACCEPT', 'the enforcer accepts the tenant');
      const replayed = replayedDirectory(await blockEvents()).tenant(tenant.tenantId);
      assert.equal(
        replayed?.block ?? null,
        null,
        'a directory reading the topic from the start: not blocked',
      );
      assert.equal(decisionFor(runtime, bystander), 'ACCEPT', 'the bystander was never blocked');
      await second.process.stop(20_000);
    });

    it('a zombie scorer, frozen while another took its partition, publishes no block from its stale window', async () => {
      const tenant = tenantNamed('lifted-zombie', 64);
      const bystander = tenantNamed('lifted-zombie-bystander', 80);
      await onboard({ runtime }, tenant);
      await onboard({ runtime }, bystander);
      const from = (await progress()).end;
      // The tenant's spam spread through a backlog: the zombie's cache holds the tenant's window, mid-episode,
      // when it is frozen, and more of the same spam waits in the batch it resumes.
      const spam = spamOf(tenant.tenantId, start, 4 * THRESHOLD);
      const backlog = mailOf(bystander, start, 20_000, 10);
      for (let i = 0; i < 20; i++) {
        await publish([...spam.slice(i * 8, i * 8 + 8), ...backlog.slice(i * 1_000, i * 1_000 + 1_000)]);
      }
      const zombie = await scorer({ RELAYGUARD_SCORER_COMMIT_INTERVAL_MS: '60000' });
      await waitFor(async () => kinds(ofTenant(await blockEvents(), tenant.tenantId)).includes('BLOCKED'), {
        timeoutMs: 30_000,
        description: 'the block',
      });
      process.kill(zombie.process.pid, 'SIGSTOP');
      assert.equal((await progress()).committed, from, 'frozen before its first flush');
      await waitFor(() => decisionFor(runtime, tenant) === 'REJECT', {
        description: 'the enforcer to block',
      });
      await runtime.admin!.unblock(OPERATOR, tenant.tenantId, UNBLOCK);

      // The group evicts the frozen member (no heartbeat within the session timeout); the new one takes the
      // partition and replays it under the unblock's generation.
      const owner = await scorer();
      const { end } = await progress();
      await waitFor(async () => (await progress()).committed === end, {
        timeoutMs: 45_000,
        description: `the new owner to commit all ${end} events`,
      });
      // The zombie wakes with its stale window and the rest of its batch in hand.
      process.kill(zombie.process.pid, 'SIGCONT');
      // kafkajs rejoins only once the batch in hand is handled: both members in a stable group means the zombie
      // has finished what it folded into its stale window.
      await waitFor(
        async () => {
          const [group] = (await kafkaAdmin.describeGroups([SCORER_GROUP])).groups;
          return group?.state === 'Stable' && group.members.length === 2;
        },
        { timeoutMs: 30_000, description: 'the zombie back in the group, beside the new owner' },
      );
      await waitFor(async () => (await progress()).committed === end, {
        timeoutMs: 20_000,
        description: 'every event committed once the zombie rejoined',
      });
      const events = ofTenant(await blockEvents(), tenant.tenantId);
      assert.equal(
        kinds(events).filter((kind) => kind === 'BLOCKED').length,
        1,
        `one block: ${kinds(events)}`,
      );
      assert.notEqual(events.at(-1)?.kind, 'BLOCKED', `the last record is not a block: ${kinds(events)}`);
      assert.equal(decisionFor(runtime, tenant), 'ACCEPT', 'the enforcer accepts the tenant');
      await owner.process.stop(20_000);
      await zombie.process.stop(20_000);
    });
  });
});

/** OOM refusals Redis answered so far (INFO errorstats). */
function refusedWrites(errorstats: string): number {
  return Number(/errorstat_OOM:count=(\d+)/.exec(errorstats)?.[1] ?? 0);
}
