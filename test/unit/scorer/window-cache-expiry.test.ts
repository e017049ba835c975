// Cached windows and their store keys' TTL (issue 23, finding 2): a day of traffic replayed minute by minute with
// the TTL scaled down (a 10-minute window, 12-minute keys, a 40-minute night). Tenants quiet at night for longer
// than the key TTL come back in the morning while the scorer still caches their windows: those must be loaded
// again, not saved against keys Redis has expired (a refused save dropped the partition's cache and rescored it
// from the last commit, every morning).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fleetDirectory, START, tenantAddress, tenantId } from '../../../bench/workload.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';
import { DEFAULT_POLICY, MINUTE_MS, type Policy } from '../../../services/core/policy.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../../../services/platform/memory/memory-window-store.js';
import { Metrics } from '../../../services/platform/metrics.js';
import type { LogRecord, RecordBatch } from '../../../services/platform/ports.js';
import { RedisWindowStore } from '../../../services/platform/redis/redis-window-store.js';
import { windowKeys } from '../../../services/platform/redis/window-encoding.js';
import { Scorer, type ScorerDeps } from '../../../services/scorer/scorer.js';
import { messageSubmitted, seededRandom } from '../../support/builders.js';
import { type RedisServer, startRedis } from '../../support/redis-server.js';
import { metricValue, publishedBlockIds, publishMessages } from '../../support/scorer-io.js';

const TENANTS = 12;
const PARTITIONS = 2;
const POLICY: Policy = {
  ...DEFAULT_POLICY,
  windowMinutes: 10,
  graceMinutes: 2,
  thresholds: {
    minUnregistered: 40,
    minUnregisteredRatio: 0.25,
    minDistinctDomains: 10,
    minUnregisteredWithDistinct: 20,
  },
};
/** The key TTL the runtime derives from the policy (windowTtlMs): the window and the grace period. */
const TTL_MS = (POLICY.windowMinutes + POLICY.graceMinutes) * MINUTE_MS;
const DAY_MINUTES = 120;
/** Business hours: the rest of the day (40 minutes, more than the TTL) only the night-shift tenants send. */
const DAY_END = 80;
const DAYS = 2;
const directory = fleetDirectory(TENANTS);
const tenants = Array.from({ length: TENANTS }, (_, i) => tenantId(i));
const codec = new EmbeddedCodec();

/** Minute `m`'s mail: every third tenant around the clock, the others in business hours; tenant 1 spams on day 2. */
function minuteOfMail(m: number, random: () => number): MessageSubmitted[] {
  const at = START + m * MINUTE_MS;
  const dayMinute = m % DAY_MINUTES;
  const events: MessageSubmitted[] = [];
  for (let i = 0; i < TENANTS; i++) {
    const awake = i % 3 === 0 || dayMinute < DAY_END;
    // Some tenants skip minutes: their windows sit in the cache between sends.
    if (!awake || random() < 0.3) continue;
    const spamming = i === 1 && m >= DAY_MINUTES && dayMinute < 20;
    for (let k = 1 + Math.floor(random() * 3) + (spamming ? 8 : 0); k > 0; k--)
      events.push(
        messageSubmitted({
          tenantId: tenantId(i),
          occurredAt: at + Math.floor(random() * 50_000),
          envelopeSenderDomain: spamming
            ? `spam${Math.floor(random() * 30)}.example`
            : `mail.${tenantId(i)}.example`,
          connectorId: 'onprem-1',
          clientAddress: tenantAddress(i),
        }),
      );
  }
  return events;
}

function scorer<S extends ScorerDeps['store'] = MemoryWindowStore>(
  clock: ManualClock,
  options: Partial<ScorerDeps>,
  store: S = new MemoryWindowStore({ clock, ttlMs: TTL_MS }) as unknown as S,
) {
  const metrics = new Metrics({ processMetrics: false });
  const out = new MemoryEventLog({ clock });
  const instance = new Scorer({
    log: out,
    codec,
    store,
    directory,
    policy: POLICY,
    logger: silentLogger,
    metrics,
    clock,
    maxClockSkewMs: MINUTE_MS,
    ...options,
  });
  return { scorer: instance, metrics, out, store };
}

const blockIds = (log: MemoryEventLog) => publishedBlockIds(log, codec);

describe('scorer: cached windows and the store keys TTL', () => {
  it('a daily pattern with the TTL scaled down: no refused save, no rescored partition, the windows of a scorer without a cache', async () => {
    const clock = new ManualClock(START);
    const source = new MemoryEventLog({ clock, partitions: PARTITIONS });
    // Write-behind as deployed: a flush every minute; the cache holds every tenant, so none leaves it by the bound.
    const cached = scorer(clock, { commitIntervalMs: 60_000 });
    // The reference keeps nothing between batches: every batch loads from the store what the TTL left of it.
    const reference = scorer(clock, { windowCacheTenants: 0 });
    const random = seededRandom(23);
    let delivered = 0;
    const redelivered: number[] = [];
    for (let m = 0; m < DAYS * DAY_MINUTES; m++) {
      clock.set(START + m * MINUTE_MS + 55_000);
      const events = minuteOfMail(m, random);
      await publishMessages(source, codec, events);
      const records = source.records(Topics.messageSubmitted).slice(delivered);
      delivered += records.length;
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const batch = {
          topic: Topics.messageSubmitted,
          partition,
          records: records.filter((record: LogRecord) => record.partition === partition),
          lag: 0,
        };
        if (batch.records.length === 0) continue;
        await cached.scorer.handleBatch(batch);
        await reference.scorer.handleBatch(batch);
      }
      const { redeliver } = await cached.scorer.flush();
      redelivered.push(...redeliver.map(({ partition }) => partition));
    }

    assert.deepEqual(redelivered, [], 'no partition was rescored from its last commit');
    assert.equal(await metricValue(cached.metrics, 'relayguard_window_cache_expired_saves_total'), 0);
    // The day-shift tenants came back after the night: loaded again rather than trusted from the cache.
    const misses = await metricValue(cached.metrics, 'relayguard_window_cache_lookups_total', {
      result: 'miss',
    });
    assert.ok(
      misses >= (TENANTS * 2) / 3,
      `each day-shift tenant loaded again in the morning (${misses} misses)`,
    );
    assert.deepEqual(await cached.store.load(tenants), await reference.store.load(tenants));
    const blocks = await blockIds(cached.out);
    assert.equal(blocks.length, 1, 'the morning spammer blocked once');
    assert.deepEqual(blocks, await blockIds(reference.out));
  });
});

describe('scorer: a cached window whose Redis key is gone', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  it('is written afresh, alone: no partition rescored, the others stay cached, its block still published', async () => {
    const clock = new ManualClock(START);
    const store = new RedisWindowStore({ url: redis.url, ttlMs: 3_600_000 });
    await store.ready();
    const cached = scorer(clock, { commitIntervalMs: 60_000 }, store);
    const source = new MemoryEventLog({ clock, partitions: 1 });
    let delivered = 0;
    const batchOf = async (events: MessageSubmitted[]): Promise<RecordBatch> => {
      await publishMessages(source, codec, events);
      const records = source.records(Topics.messageSubmitted).slice(delivered);
      delivered += records.length;
      return { topic: Topics.messageSubmitted, partition: 0, records, lag: 0 };
    };
    const mail = (i: number, count: number, domain: (k: number) => string) =>
      Array.from({ length: count }, (_, k) =>
        messageSubmitted({
          tenantId: tenantId(i),
          occurredAt: clock.now() - 1_000 + k,
          envelopeSenderDomain: domain(k),
          connectorId: 'onprem-1',
          clientAddress: tenantAddress(i),
        }),
      );
    const own = (i: number) => () => `mail.${tenantId(i)}.example`;
    try {
      clock.advance(MINUTE_MS);
      await cached.scorer.handleBatch(await batchOf([...mail(1, 5, own(1)), ...mail(2, 5, own(2))]));
      assert.deepEqual(await cached.scorer.flush(), { redeliver: [] });
      // Redis loses both windows (maxmemory eviction, or a failover to a replica that never had them).
      await store.client.del(...windowKeys(tenantId(1)), ...windowKeys(tenantId(2)));

      clock.advance(MINUTE_MS);
      // Tenant 2's save finds its key gone; tenant 1 crosses the thresholds, so its window is fenced first.
      await cached.scorer.handleBatch(
        await batchOf([...mail(2, 5, own(2)), ...mail(1, 60, (k) => `spam${k % 30}.example`)]),
      );
      assert.deepEqual(await cached.scorer.flush(), { redeliver: [] });

      assert.equal(await metricValue(cached.metrics, 'relayguard_window_cache_expired_saves_total'), 2);
      assert.equal(
        await metricValue(cached.metrics, 'relayguard_window_cache_lookups_total', { result: 'miss' }),
        2,
      );
      const stored = await store.load([tenantId(1), tenantId(2)]);
      const counted = (i: number) =>
        [...(stored.get(tenantId(i))?.window.buckets.values() ?? [])].reduce(
          (sum, bucket) => sum + bucket.total,
          0,
        );
      assert.equal(counted(1), 65, "tenant 1's window, written afresh, holds every event it counted");
      assert.equal(counted(2), 10);
      assert.equal((await blockIds(cached.out)).length, 1, 'tenant 1 blocked');
    } finally {
      await store.close();
    }
  });
});
