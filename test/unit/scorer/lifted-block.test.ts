// A lifted block stays lifted: the sequences that re-imposed a lifted block or built a new one from the evidence
// it lifted, each replayed step by step on one scorer (test/support/episode-driver.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenantChanges } from '../../../bench/workload.js';
import { TenantDirectory } from '../../../services/core/directory.js';
import { MINUTE_MS } from '../../../services/core/policy.js';
import { EpisodeDriver, replayedDirectory, START, TENANT } from '../../support/episode-driver.js';

const UNBLOCKED_AT = START + 20 * MINUTE_MS;

async function kinds(driver: EpisodeDriver): Promise<string[]> {
  return (await driver.blockEvents()).map((event) => `${event.kind} ${event.blocked?.blockId ?? ''}`.trim());
}

/**
 * A scorer publishes a block and dies before its flush and before its directory learnt of the block; the operator
 * lifts the block; the restarted scorer's replay, on a directory that has seen neither, publishes it again.
 */
async function liftedBlockRepublished(): Promise<EpisodeDriver> {
  const driver = new EpisodeDriver();
  await driver.send(START, 10, 10);
  await driver.deliver();
  driver.crash();
  assert.ok(await driver.unblock(UNBLOCKED_AT));
  await driver.deliver();
  await driver.feed();
  return driver;
}

describe('a lifted block stays lifted', () => {
  it('records the episode the directory shows when a redelivered batch crosses the thresholds again', async () => {
    const driver = new EpisodeDriver({ commitIntervalMs: 0 });
    await driver.send(START, 10, 10);
    driver.store.failNext = 'save';
    assert.equal(await driver.deliver(), 'failed', 'the block is published, then the save fails');
    await driver.feed();
    assert.equal(await driver.deliver(), 'ok', 'redelivered onto a window loaded afresh');
    await driver.flush();

    assert.ok(await driver.unblock(UNBLOCKED_AT));
    await driver.feed();
    await driver.send(UNBLOCKED_AT + MINUTE_MS, 0, 1);
    await driver.deliver();
    await driver.feed();

    const [blocked] = await kinds(driver);
    assert.deepEqual(await kinds(driver), [blocked, 'UNBLOCKED'], 'no block from the lifted evidence');
    assert.equal(driver.directory.tenant(TENANT)?.block, null);
  });

  it('does not let a scorer killed before its flush republish the lifted block on replay', async () => {
    const driver = new EpisodeDriver();
    await driver.send(START, 10, 10);
    await driver.deliver();
    await driver.feed();
    driver.crash();
    assert.ok(await driver.unblock(UNBLOCKED_AT));
    await driver.feed();
    await driver.deliver();
    await driver.feed();

    const [blocked] = await kinds(driver);
    assert.deepEqual(await kinds(driver), [blocked, 'UNBLOCKED']);
    assert.equal(driver.directory.tenant(TENANT)?.block, null);
    assert.equal(driver.directory.tenant(TENANT)?.blockTimes.length, 1);
  });

  it('ignores the lifted block a restarted scorer republishes before the unblock reached it', async () => {
    const driver = await liftedBlockRepublished();

    const events = await driver.blockEvents();
    assert.equal(events.at(-1)?.kind, 'BLOCKED', 'the replay republished the lifted block after the unblock');
    for (const directory of [driver.directory, replayedDirectory(events)]) {
      const record = directory.tenant(TENANT);
      assert.equal(record?.block, null, 'the lifted block stays lifted');
      assert.equal(record?.blockTimes.length, 1, 'the republished block is not a second block');
      assert.equal(directory.blockedCount, 0);
    }
  });

  it('blocks again on evidence sent after the unblock alone, with an id of the new generation', async () => {
    const driver = new EpisodeDriver();
    await driver.send(START, 10, 10);
    await driver.deliver();
    await driver.feed();
    assert.ok(await driver.unblock(UNBLOCKED_AT));
    await driver.feed();
    await driver.send(UNBLOCKED_AT + MINUTE_MS, 4, 0);
    await driver.deliver();
    assert.equal((await driver.blockEvents()).length, 2, 'four new messages are below the threshold');
    await driver.send(UNBLOCKED_AT + 2 * MINUTE_MS, 1, 0);
    await driver.deliver();
    await driver.feed();

    const events = await driver.blockEvents();
    assert.deepEqual(
      events.map((event) => event.kind),
      ['BLOCKED', 'UNBLOCKED', 'BLOCKED'],
    );
    const second = events[2]!.blocked!;
    assert.notEqual(second.blockId, events[0]!.blocked!.blockId);
    assert.equal(second.evidence.unregistered, 5, 'only the events after the unblock count');
    assert.equal(driver.directory.tenant(TENANT)?.block?.blockId, second.blockId);
    assert.equal(driver.directory.tenant(TENANT)?.blockTimes.length, 2);
  });
});

describe('fencing: side effects only from the partition owner', () => {
  it('keeps a zombie scorer from publishing a block from its stale window after the unblock', async () => {
    const driver = new EpisodeDriver();
    // The zombie: a scorer that owned the partition, whose directory has seen no block event since.
    const lagging = new TenantDirectory();
    for (const change of tenantChanges(0)) lagging.apply(change);
    const zombie = driver.newScorer(lagging);
    await driver.send(START, 4, 10);
    await zombie.handleBatch(driver.batch(0));
    await zombie.flush();
    driver.delivered = driver.committed = driver.records.length;

    // Evicted from the group: the new owner scores what follows, blocks, and the operator lifts the block.
    await driver.send(START + MINUTE_MS, 6, 0);
    const handedOver = driver.records.length - 6;
    await driver.deliver();
    await driver.flush();
    await driver.feed();
    assert.ok(await driver.unblock(UNBLOCKED_AT));
    await driver.feed();

    // The zombie still handles the batch it had fetched, on its cached window.
    await assert.rejects(
      zombie.handleBatch(driver.batch(handedOver)),
      /WRITE_CONFLICT|changed under this scorer/,
    );
    const events = await driver.blockEvents();
    assert.deepEqual(
      events.map((event) => event.kind),
      ['BLOCKED', 'UNBLOCKED'],
      'nothing published by the zombie',
    );
    assert.equal(
      replayedDirectory(events.slice(-1)).tenant(TENANT)?.block ?? null,
      null,
      'compacted: lifted',
    );
  });
});

describe('compaction keeps a lifted block lifted', () => {
  it('publishes the unblock again behind a lifted block published after it', async () => {
    const driver = await liftedBlockRepublished();
    await driver.send(UNBLOCKED_AT + MINUTE_MS, 0, 1);
    await driver.deliver();
    await driver.feed();

    const events = await driver.blockEvents();
    assert.deepEqual(
      events.map((event) => event.kind),
      ['BLOCKED', 'UNBLOCKED', 'BLOCKED', 'UNBLOCKED'],
    );
    // What compaction keeps of the tenant (its latest record), and what a replica starting from it sees.
    const compacted = replayedDirectory(events.slice(-1)).tenant(TENANT);
    assert.equal(compacted?.block ?? null, null);
    assert.equal(compacted?.generation, driver.directory.tenant(TENANT)?.generation);
    await driver.deliver();
    await driver.send(UNBLOCKED_AT + 2 * MINUTE_MS, 0, 1);
    await driver.deliver();
    await driver.feed();
    assert.equal((await driver.blockEvents()).length, 4, 'published once');
  });
});
