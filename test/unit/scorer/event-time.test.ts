// Event-time bounds come from the record, not from the scorer's clock: the same records are accepted and refused
// alike whether they are scored as they arrive or by a scorer that lags by most of an hour (issue 13, sequence 5).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MINUTE_MS } from '../../../services/core/policy.js';
import { messageSubmitted } from '../../support/builders.js';
import { EpisodeDriver, START, TENANT } from '../../support/episode-driver.js';

/** Registered mail, one event from a relay whose clock runs 50 minutes ahead, then a flood of spam. */
async function traffic(driver: EpisodeDriver): Promise<void> {
  await driver.send(START, 0, 20);
  const ahead = messageSubmitted({
    tenantId: TENANT,
    occurredAt: START + 50 * MINUTE_MS,
    envelopeSenderDomain: `${TENANT}.example`,
  });
  await driver.publish(ahead, START + MINUTE_MS);
  await driver.send(START + 2 * MINUTE_MS, 10, 0);
}

describe('event time from the record', () => {
  for (const lag of [0, 55 * MINUTE_MS]) {
    it(`dead-letters the event from the future and blocks on the flood, scored ${lag / MINUTE_MS} minutes late`, async () => {
      const driver = new EpisodeDriver();
      await traffic(driver);
      driver.clock.advance(lag);
      await driver.deliver();
      await driver.feed();
      assert.deepEqual(driver.deadLettered(), ['FUTURE_EVENT']);
      const blocks = await driver.blockEvents();
      assert.equal(blocks.length, 1, 'the flood is counted, not made late by the event from the future');
      // A quarter of the volume: 7 of the 20 registered messages and the spam, the event from the future not among them.
      const { unregistered, total } = blocks[0]!.blocked!.evidence;
      assert.deepEqual({ unregistered, total }, { unregistered: 7, total: 27 });
    });
  }
});
