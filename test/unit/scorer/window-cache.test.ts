// The scorer's window cache and write-behind saves, on the memory adapters: whatever happens between a batch
// and the flush that saves its windows (a crash, a rebalance, the cache bound, another scorer's write), every
// event ends up counted once, and the windows equal those of an uninterrupted run that saves every batch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fleetDirectory, fleetEvents, START, tenantId } from '../../../bench/workload.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../../../services/core/policy.js';
import { Topics } from '../../../services/core/topics.js';
import type { TenantWindow } from '../../../services/core/windows.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { createLogger, silentLogger } from '../../../services/platform/logger.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../../../services/platform/memory/memory-window-store.js';
import { Metrics } from '../../../services/platform/metrics.js';
import type { EventLog, LogRecord, StoredWindow } from '../../../services/platform/ports.js';
import { Scorer, type ScorerDeps } from '../../../services/scorer/scorer.js';
import { messageSubmitted } from '../../support/builders.js';
import { metricValue, publishedBlockIds, publishMessages } from '../../support/scorer-io.js';
import { waitFor } from '../../support/tether.js';

const TENANTS = 40;
const PARTITIONS = 3;
const TTL_MS = 2 * 86_400_000;
const clock = new ManualClock(START + 24 * 60 * MINUTE_MS);
const codec = new EmbeddedCodec();
const directory = fleetDirectory(TENANTS);
const tenants = Array.from({ length: TENANTS }, (_, i) => tenantId(i));

/** The fleet's mail with one compromised tenant among it, so that a block is decided too. */
function workload(count: number, seed: number): MessageSubmitted[] {
  const events = fleetEvents(TENANTS, count, seed);
  return events.map((event, k) =>
    k % 3 === 0
      ? messageSubmitted({
          ...event,
          tenantId: tenantId(0),
          envelopeSenderDomain: `spam${k % 90}.example`,
        })
      : event,
  );
}

const publish = (log: EventLog, events: readonly MessageSubmitted[]) => publishMessages(log, codec, events);

function scorer(log: EventLog, store: MemoryWindowStore, options: Partial<ScorerDeps> = {}) {
  const metrics = new Metrics({ processMetrics: false });
  const instance = new Scorer({
    log,
    codec,
    store,
    directory,
    policy: DEFAULT_POLICY,
    logger: silentLogger,
    metrics,
    maxClockSkewMs: MINUTE_MS,
    ...options,
  });
  return { scorer: instance, metrics };
}

async function consumed(metrics: Metrics): Promise<number> {
  const { values } = await metrics.eventsConsumed.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}

const counter = metricValue;

/** The windows an uninterrupted scorer that saves after every batch makes of the same records. */
async function reference(records: readonly LogRecord[]): Promise<Map<string, StoredWindow>> {
  const store = new MemoryWindowStore({ clock, ttlMs: TTL_MS });
  const { scorer: plain } = scorer(new MemoryEventLog({ clock }), store);
  await deliver(plain, records, 500);
  return store.load(tenants);
}

/** Hands `target` each partition's records in offset order, in batches of at most `batchSize`. */
async function deliver(target: Scorer, records: readonly LogRecord[], batchSize = Number.POSITIVE_INFINITY) {
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const own = records.filter((record) => record.partition === partition);
    for (let from = 0; from < own.length; from += batchSize)
      await target.handleBatch({
        topic: Topics.messageSubmitted,
        partition,
        records: own.slice(from, from + batchSize),
        lag: 0,
      });
  }
}

function total(window: TenantWindow | undefined): number {
  return [...(window?.buckets.values() ?? [])].reduce((sum, bucket) => sum + bucket.total, 0);
}

const blockIds = async (log: MemoryEventLog) => new Set(await publishedBlockIds(log, codec));

describe('scorer: window cache and write-behind saves', () => {
  it('a crash between batches and their flush replays from the last commit and counts each event once', async () => {
    const log = new MemoryEventLog({ clock, partitions: PARTITIONS });
    const store = new MemoryWindowStore({ clock, ttlMs: TTL_MS });
    await publish(log, workload(3_000, 1));
    // A process that dies before any flush: its flushes fail, so it commits nothing, even on stop. Its cache
    // holds 10 tenants, so evictions saved some windows (partly scored ones) before it died.
    const dying: EventLog = {
      publish: (topic, records) => log.publish(topic, records),
      settled: () => log.settled(),
      close: async () => {},
      subscribe: (options) =>
        log.subscribe({
          ...options,
          flush: options.flush
            ? async () => {
                throw new Error('killed');
              }
            : undefined,
        }),
    };
    const first = scorer(dying, store, { commitIntervalMs: 20, windowCacheTenants: 10 });
    await first.scorer.start();
    await waitFor(async () => (await consumed(first.metrics)) >= 3_000, {
      timeoutMs: 20_000,
      description: 'the first scorer to score every event',
    });
    await first.scorer.stop();
    const want = await reference(log.records(Topics.messageSubmitted));
    const sum = (windows: Map<string, StoredWindow>) =>
      [...windows.values()].reduce((n, { window }) => n + total(window), 0);
    const saved = await store.load(tenants);
    assert.ok(
      saved.size > 0 && sum(saved) < sum(want),
      `evictions saved part of it (${sum(saved)} of ${sum(want)} counts)`,
    );
    assert.ok((await counter(first.metrics, 'relayguard_window_cache_evictions_total')) > 0);

    const second = scorer(log, store, { commitIntervalMs: 20 });
    await second.scorer.start();
    await log.settled();
    await second.scorer.stop();

    assert.deepEqual(await store.load(tenants), want);
    assert.equal((await blockIds(log)).size, 1, 'the compromised tenant blocked, under one block id');
  });

  it('a revoked partition has its windows saved and dropped; the others wait for the flush', async () => {
    const log = new MemoryEventLog({ clock, partitions: PARTITIONS });
    const store = new MemoryWindowStore({ clock, ttlMs: TTL_MS });
    await publish(log, workload(1_500, 2));
    const records = log.records(Topics.messageSubmitted);
    const { scorer: cached, metrics } = scorer(log, store, { commitIntervalMs: 60_000 });
    await deliver(cached, records);
    assert.equal((await store.load(tenants)).size, 0, 'nothing saved before a flush');
    const cachedBefore = await counter(metrics, 'relayguard_window_cache_tenants');

    await cached.revoke([1]);
    const want = await reference(records);
    const ofPartition1 = new Set(records.filter((r) => r.partition === 1).map((r) => r.key!));
    const stored = await store.load(tenants);
    assert.deepEqual(new Set(stored.keys()), ofPartition1);
    for (const tenant of ofPartition1) assert.deepEqual(stored.get(tenant), want.get(tenant));
    assert.equal(await counter(metrics, 'relayguard_window_cache_tenants'), cachedBefore - ofPartition1.size);

    assert.deepEqual(await cached.flush(), { redeliver: [] });
    assert.deepEqual(await store.load(tenants), want);
  });

  it('the cache bound evicts windows (CLOCK order), saving dirty ones rather than losing them', async () => {
    const log = new MemoryEventLog({ clock, partitions: 1 });
    const store = new MemoryWindowStore({ clock, ttlMs: TTL_MS });
    await publish(log, workload(2_000, 3));
    const records = log.records(Topics.messageSubmitted);
    const { scorer: bounded, metrics } = scorer(log, store, {
      commitIntervalMs: 60_000,
      windowCacheTenants: 5,
    });
    for (let from = 0; from < records.length; from += 100)
      await bounded.handleBatch({
        topic: Topics.messageSubmitted,
        partition: 0,
        records: records.slice(from, from + 100),
        lag: 0,
      });
    assert.ok((await counter(metrics, 'relayguard_window_cache_tenants')) <= 5);
    assert.ok(
      (await counter(metrics, 'relayguard_window_cache_evictions_total')) >= TENANTS - 5,
      'every tenant but the last five was evicted at least once',
    );
    assert.ok((await store.load(tenants)).size >= TENANTS - 5, 'evicted windows were saved');
    await bounded.flush();
    assert.deepEqual(await store.load(tenants), await reference(records));
  });

  it('a window another scorer wrote is refused: the partition is named for redelivery, and rescoring converges', async () => {
    const log = new MemoryEventLog({ clock, partitions: PARTITIONS });
    const store = new MemoryWindowStore({ clock, ttlMs: TTL_MS });
    await publish(log, workload(1_500, 4));
    const records = log.records(Topics.messageSubmitted);
    const logs: { msg: string; err?: { message: string } }[] = [];
    const logger = createLogger('warn', { write: (line: string) => void logs.push(JSON.parse(line)) });
    const { scorer: cached, metrics } = scorer(log, store, { commitIntervalMs: 60_000, logger });
    await deliver(cached, records);
    const missesBefore = await counter(metrics, 'relayguard_window_cache_lookups_total', {
      result: 'miss',
    });

    // A scorer that owned the partitions meanwhile (this one was a zombie) scored and saved the same events.
    const { scorer: other } = scorer(log, store);
    await deliver(other, records);

    // Every partition's windows are refused and dropped; delivered again from the last commit (here: the start),
    // they are loaded afresh, every event is a duplicate of what the other scorer saved, and the flush goes through.
    const { redeliver } = await cached.flush();
    assert.deepEqual(
      redeliver.map(({ partition }) => partition).sort(),
      Array.from({ length: PARTITIONS }, (_, p) => p),
    );
    // Said, not swallowed: the refusal is what shows an operator (and the zombie chaos row) a fenced scorer.
    assert.deepEqual(
      logs.map(({ msg, err }) => [msg, err?.message.includes('a window changed under this scorer')]),
      [['windows not saved; their partitions are rescored', true]],
    );
    await deliver(cached, records);
    assert.deepEqual(await cached.flush(), { redeliver: [] });
    assert.equal(
      await counter(metrics, 'relayguard_window_cache_lookups_total', { result: 'miss' }),
      missesBefore + TENANTS,
      'each refused window was loaded again',
    );
    assert.deepEqual(await store.load(tenants), await reference(records));
  });
});
