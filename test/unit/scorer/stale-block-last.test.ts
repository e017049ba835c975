// A block every directory ignores can still be a tenant's latest tenant-blocks record: the connector block a tenant
// block widened, or a block of a lifted episode, published again by a zombie scorer or a rebuild. Compaction keeps
// the latest record, so the scorer publishes the tenant's state again behind it: every reader, from the whole
// topic or from the latest record alone, then ends with the block the live directory holds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantBlockEvent } from '../../../services/core/contracts.generated.js';
import { blockIdFor } from '../../../services/core/episodes.js';
import { MINUTE_MS } from '../../../services/core/policy.js';
import { Topics } from '../../../services/core/topics.js';
import { BlockView } from '../../../services/sdk/subscriber/block-view.js';
import { EpisodeDriver, replayedDirectory, START, TENANT } from '../../support/episode-driver.js';

/** The block each reader ends with: the live directory, a replay of the topic, of its latest record, and subscribers. */
function blockOf(driver: EpisodeDriver, events: readonly TenantBlockEvent[]) {
  const view = (from: readonly TenantBlockEvent[]) => {
    const subscriber = new BlockView();
    for (const event of from) subscriber.apply(event, subscriber.transition(event));
    return subscriber.block(TENANT)?.blockId ?? null;
  };
  return {
    live: driver.directory.tenant(TENANT)?.block?.blockId ?? null,
    replayed: replayedDirectory(events).tenant(TENANT)?.block?.blockId ?? null,
    compacted: replayedDirectory(events.slice(-1)).tenant(TENANT)?.block?.blockId ?? null,
    subscriber: view(events),
    subscriberAfterCompaction: view(events.slice(-1)),
  };
}

const everyReader = (blockId: string | null) => ({
  live: blockId,
  replayed: blockId,
  compacted: blockId,
  subscriber: blockId,
  subscriberAfterCompaction: blockId,
});

/** The scorer's next batch (one registered message a minute after `at`), with its directory fed after it. */
async function nextBatch(driver: EpisodeDriver, at: number): Promise<void> {
  await driver.send(at, 0, 1);
  await driver.deliver();
  await driver.flush();
  await driver.feed();
}

describe('a block every directory ignores is not left as the latest record', () => {
  it('publishes the tenant block again behind the connector block it widened, republished after it', async () => {
    const driver = new EpisodeDriver();
    // onprem-1 floods while onprem-2 carries registered mail: a connector block; then the flood moves to onprem-2.
    await driver.send(START, 0, 10, { registeredOn: 'onprem-2' });
    await driver.send(START + MINUTE_MS, 10);
    await driver.send(START + 2 * MINUTE_MS, 10, 0, { spamOn: 'onprem-2' });
    await driver.deliver();
    await driver.flush();
    await driver.feed();
    const [narrow, wide] = (await driver.blockEvents()).map((event) => event.blocked!);
    assert.equal(narrow?.scope, 'CONNECTOR');
    assert.equal(wide?.widenedFrom, narrow?.blockId);

    // A zombie scorer (or a rebuild) publishes the connector block again: ignored, but the latest record.
    await driver.republishBlock(0);
    await driver.feed();
    await nextBatch(driver, START + 3 * MINUTE_MS);

    const events = await driver.blockEvents();
    const last = events.at(-1)!;
    assert.deepEqual(
      { eventId: last.eventId, occurredAt: last.occurredAt, blocked: last.blocked },
      { eventId: wide!.blockId, occurredAt: events[1]!.occurredAt, blocked: wide },
      'the tenant block, as first published',
    );
    assert.deepEqual(blockOf(driver, events), everyReader(wide!.blockId));
    // A subscriber reports the block and its widening, nothing for the republished connector block or behind it.
    const subscriber = new BlockView();
    const reported = events.flatMap((event) => {
      const transition = subscriber.transition(event);
      subscriber.apply(event, transition);
      return transition?.kind === 'blocked' ? [transition.block.blockId] : [];
    });
    assert.deepEqual(reported, [narrow!.blockId, wide!.blockId]);

    await nextBatch(driver, START + 4 * MINUTE_MS);
    assert.equal((await driver.blockEvents()).length, events.length, 'published once');
    // Republished again later, the connector block is answered again.
    await driver.republishBlock(0);
    await driver.feed();
    await nextBatch(driver, START + 5 * MINUTE_MS);
    const again = await driver.blockEvents();
    assert.equal(again.length, events.length + 2);
    assert.deepEqual(blockOf(driver, again), everyReader(wide!.blockId));
  });

  it('publishes the block in force, not the old unblock, behind a block lifted generations before', async () => {
    const driver = new EpisodeDriver();
    await driver.send(START, 10, 10);
    await driver.deliver();
    await driver.feed();
    assert.ok(await driver.unblock(START + 10 * MINUTE_MS - 1));
    await driver.feed();
    await driver.send(START + 20 * MINUTE_MS, 10, 10);
    await driver.deliver();
    await driver.flush();
    await driver.feed();
    const reblocked = driver.directory.tenant(TENANT)?.block?.blockId;
    assert.ok(reblocked?.includes('~g'), 'blocked again in the next generation');

    // The first generation's block published again: every directory ignores it.
    await driver.republishBlock(0);
    await driver.feed();
    await nextBatch(driver, START + 21 * MINUTE_MS);

    const events = await driver.blockEvents();
    assert.equal(events.at(-1)?.blocked?.blockId, reblocked);
    assert.deepEqual(blockOf(driver, events), everyReader(reblocked!));
  });
});

describe('an unblock published again behind a lifted block lifts no later block', () => {
  it('ignores the old unblock that lands after another writer blocked the tenant again', async () => {
    const driver = new EpisodeDriver();
    await driver.send(START, 10, 10);
    await driver.deliver();
    await driver.feed();
    const unblockedAt = START + 10 * MINUTE_MS - 1;
    assert.ok(await driver.unblock(unblockedAt));
    await driver.feed();
    // A zombie publishes the lifted block again: the scorer's directory sees it last, the tenant unblocked.
    await driver.republishBlock(0);
    await driver.feed();
    // Before the scorer's next batch, another writer (a scorer that had the partition a moment) blocks the tenant
    // again in the generation the unblock started.
    const [first] = await driver.blockEvents();
    const again = blockIdFor(TENANT, START + 20 * MINUTE_MS, unblockedAt);
    const reblock: TenantBlockEvent = {
      ...first!,
      eventId: again,
      occurredAt: START + 20 * MINUTE_MS,
      blocked: { ...first!.blocked!, blockId: again },
    };
    const value = await driver.codec.encode(Topics.tenantBlocks, reblock);
    await driver.log.publish(Topics.tenantBlocks, [{ key: TENANT, value }]);
    // The scorer publishes the unblock again behind the lifted block it saw last: it lands after that block.
    await nextBatch(driver, START + 21 * MINUTE_MS);
    const landed = await driver.blockEvents();
    assert.deepEqual(
      landed.slice(-2).map((event) => event.blocked?.blockId ?? `unblock of ${event.unblocked?.blockId}`),
      [again, `unblock of ${first!.blocked!.blockId}`],
    );
    assert.equal(driver.directory.tenant(TENANT)?.block?.blockId, again, 'the later block stays in force');
    // Now the ignored unblock is last: the block in force is published again behind it.
    await nextBatch(driver, START + 22 * MINUTE_MS);
    const events = await driver.blockEvents();
    assert.equal(events.at(-1)?.blocked?.blockId, again);
    assert.deepEqual(blockOf(driver, events), everyReader(again));
  });
});
