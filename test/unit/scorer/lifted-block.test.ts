// A lifted block stays lifted: the sequences that re-imposed a lifted block or built a new one from the evidence
// it lifted, each replayed step by step on one scorer (test/support/episode-driver.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MINUTE_MS } from '../../../services/core/policy.js';
import { EpisodeDriver, replayedDirectory, START, TENANT } from '../../support/episode-driver.js';

const UNBLOCKED_AT = START + 20 * MINUTE_MS;

async function kinds(driver: EpisodeDriver): Promise<string[]> {
  return (await driver.blockEvents()).map((event) => `${event.kind} ${event.blocked?.blockId ?? ''}`.trim());
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
    const driver = new EpisodeDriver();
    await driver.send(START, 10, 10);
    await driver.deliver();
    driver.crash(); // before its flush, and before its directory learnt of the block
    assert.ok(await driver.unblock(UNBLOCKED_AT));
    await driver.deliver(); // the replay runs on a directory that has seen neither
    await driver.feed();

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
