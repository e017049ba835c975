// The fence before a block publish (issue 23): it compares the versions of the blocking tenants' cached windows
// with the store's, so it reads only the versions, not the windows (a hot tenant's whole window took 10-12 ms to
// load and decode on Redis), and still refuses a window another scorer has saved since.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fleetDirectory, START, tenantAddress, tenantId } from '../../../bench/workload.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { DEFAULT_POLICY, MINUTE_MS } from '../../../services/core/policy.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../../services/platform/logger.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../../../services/platform/memory/memory-window-store.js';
import { Metrics } from '../../../services/platform/metrics.js';
import type { RecordBatch } from '../../../services/platform/ports.js';
import { Scorer } from '../../../services/scorer/scorer.js';
import { messageSubmitted } from '../../support/builders.js';
import { publishedBlockIds, publishMessages } from '../../support/scorer-io.js';

const codec = new EmbeddedCodec();

/** The memory store, counting the tenants each operation was asked for. */
class CountingStore extends MemoryWindowStore {
  readonly asked = { load: 0, versions: 0 };

  override load(tenantIds: readonly string[]) {
    this.asked.load += tenantIds.length;
    return super.load(tenantIds);
  }

  override versions(tenantIds: readonly string[]) {
    this.asked.versions += tenantIds.length;
    return super.versions(tenantIds);
  }
}

function setup() {
  const clock = new ManualClock(START);
  const store = new CountingStore({ clock, ttlMs: 3_600_000 });
  const out = new MemoryEventLog({ clock });
  const scorer = new Scorer({
    log: out,
    codec,
    store,
    directory: fleetDirectory(2),
    policy: DEFAULT_POLICY,
    logger: silentLogger,
    metrics: new Metrics({ processMetrics: false }),
    clock,
    maxClockSkewMs: MINUTE_MS,
    commitIntervalMs: 60_000,
  });
  const source = new MemoryEventLog({ clock, partitions: 1 });
  let delivered = 0;
  const batchOf = async (count: number, domain: (k: number) => string): Promise<RecordBatch> => {
    const events = Array.from({ length: count }, (_, k) =>
      messageSubmitted({
        tenantId: tenantId(1),
        occurredAt: clock.now() - 1_000 + k,
        envelopeSenderDomain: domain(k),
        connectorId: 'onprem-1',
        clientAddress: tenantAddress(1),
      }),
    );
    await publishMessages(source, codec, events);
    const records = source.records(Topics.messageSubmitted).slice(delivered);
    delivered += records.length;
    return { topic: Topics.messageSubmitted, partition: 0, records, lag: 0 };
  };
  const own = () => `mail.${tenantId(1)}.example`;
  const spam = (k: number) => `spam${k % 1_200}.example`;
  return { clock, store, out, scorer, batchOf, own, spam };
}

describe('scorer: the fence before a block', () => {
  it('reads the cached window’s version only, and publishes the block', async () => {
    const { clock, store, out, scorer, batchOf, own, spam } = setup();
    clock.advance(MINUTE_MS);
    await scorer.handleBatch(await batchOf(5, own));
    assert.deepEqual(await scorer.flush(), { redeliver: [] });
    assert.deepEqual(store.asked, { load: 1, versions: 0 }, 'the window loaded once, on its first batch');

    clock.advance(MINUTE_MS);
    await scorer.handleBatch(await batchOf(1_500, spam));
    assert.equal((await publishedBlockIds(out, codec)).length, 1, 'the tenant blocked');
    assert.deepEqual(store.asked, { load: 1, versions: 1 }, 'the fence read the version, not the window');
  });

  it('refuses the block when another scorer saved the window since', async () => {
    const { clock, store, out, scorer, batchOf, own, spam } = setup();
    clock.advance(MINUTE_MS);
    await scorer.handleBatch(await batchOf(5, own));
    assert.deepEqual(await scorer.flush(), { redeliver: [] });
    // Another scorer, handed the partition for a while, saved the window on from the same version.
    const stored = (await store.load([tenantId(1)])).get(tenantId(1))!;
    stored.window.watermark = { partition: 0, offset: '1000' };
    const { conflicts } = await store.save([
      { tenantId: tenantId(1), expectedVersion: stored.version, window: stored.window },
    ]);
    assert.deepEqual(conflicts, []);

    clock.advance(MINUTE_MS);
    await assert.rejects(
      batchOf(1_500, spam).then((batch) => scorer.handleBatch(batch)),
      (error) => isRelayguardError(error) && error.code === 'WRITE_CONFLICT',
    );
    assert.equal((await publishedBlockIds(out, codec)).length, 0, 'no block from a window moved on from');
  });
});
