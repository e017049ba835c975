// A poison record on the compacted tenant-blocks topic: both of its readers, the directory feed (every scorer,
// enforcer and admin process materializes tenant-blocks through it) and the subscriber SDK, skip it, report it,
// and apply the records after it, so they agree on every tenant's state and no partition stalls. Why skip, not
// stall: docs/guarantees.md, "A poison record on a state topic".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDirectoryFeed } from '../../services/app/directory-feed.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { Topics } from '../../services/core/topics.js';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../services/platform/logger.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { Metrics } from '../../services/platform/metrics.js';
import { BlockSubscriber } from '../../services/sdk/subscriber/index.js';
import { blockedEvent, blockRecords, unblockedEvent } from '../support/block-events.js';

/** Framed like Avro (magic byte 0, a schema id), with an id no schema has. */
const UNKNOWN_SCHEMA = Buffer.from([0, 0, 0, 0x7f, 0xff, 2, 4, 6]);

describe('a poison record on the tenant-blocks topic', () => {
  it('is skipped and reported by both readers, which apply the records after it and agree', async () => {
    // One partition: the poison sits between records of the same partition that must still apply.
    const log = new MemoryEventLog({ clock: systemClock, partitions: 1 });
    const codec = new EmbeddedCodec();
    const publish = async (events: Parameters<typeof blockRecords>[1]) =>
      log.publish(Topics.tenantBlocks, await blockRecords(codec, events));
    await publish([blockedEvent('acme', 'acme#1')]);
    await log.publish(Topics.tenantBlocks, [{ key: 'acme', value: Buffer.from('not avro') }]);
    await publish([unblockedEvent('acme', 'acme#1')]);
    await log.publish(Topics.tenantBlocks, [{ key: 'globex', value: UNKNOWN_SCHEMA }]);
    await publish([blockedEvent('globex', 'globex#1')]);

    const metrics = new Metrics();
    const directory = new TenantDirectory();
    const feed = await startDirectoryFeed({ log, codec, directory, logger: silentLogger, metrics });
    const reported: string[] = [];
    const subscriber = new BlockSubscriber({
      log,
      codec,
      onError: (error) => reported.push((error as { code: string }).code),
    });
    try {
      await feed.caughtUp;
      await (await subscriber.start()).ready;

      const state = (tenantId: string) => ({
        feed: directory.tenant(tenantId)?.block?.blockId ?? null,
        subscriber: subscriber.isBlocked(tenantId) ? subscriber.block(tenantId)?.blockId : null,
      });
      assert.deepEqual(
        state('acme'),
        { feed: null, subscriber: null },
        'the unblock after the poison applied',
      );
      assert.deepEqual(state('globex'), { feed: 'globex#1', subscriber: 'globex#1' });
      assert.equal(directory.tenant('acme')?.lastUnblock?.blockId, 'acme#1');

      assert.deepEqual(reported, ['UNDECODABLE', 'UNKNOWN_SCHEMA_ID']);
      const consumed = (await metrics.eventsConsumed.get()).values.filter(
        (value) => value.labels.topic === Topics.tenantBlocks,
      );
      const count = (outcome: string) => consumed.find((value) => value.labels.outcome === outcome)?.value;
      assert.deepEqual([count('applied'), count('invalid')], [3, 2]);
    } finally {
      await subscriber.close();
      await feed.stop();
      await log.close();
    }
  });
});
