// Onboarding: a relay resolves a new tenant from the connectors the admin service just published, and may publish
// its mail before the scorer's directory has them. That mail is counted once the directory catches up; only a
// tenant still unknown after the wait is dead-lettered (UNKNOWN_TENANT), and its later mail at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenantChanges, tenantId } from '../../../bench/workload.js';
import { MINUTE_MS } from '../../../services/core/policy.js';
import { UNKNOWN_TENANT_ATTEMPTS } from '../../../services/scorer/scorer.js';
import { messageSubmitted } from '../../support/builders.js';
import { EpisodeDriver, START } from '../../support/episode-driver.js';

async function mailOf(driver: EpisodeDriver, tenant: string, count: number, at: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const event = messageSubmitted({
      tenantId: tenant,
      occurredAt: at + i * 1_000,
      envelopeSenderDomain: `${tenant}.example`,
    });
    await driver.publish(event, event.occurredAt);
  }
}

describe('scorer: mail of a tenant being onboarded', () => {
  it('waits for the directory to know the tenant, then counts its mail', async () => {
    const driver = new EpisodeDriver();
    const newcomer = tenantId(1);
    await mailOf(driver, newcomer, 3, START);
    assert.equal(await driver.deliver(), 'failed', 'refused while the directory does not know the tenant');
    for (const change of tenantChanges(1)) driver.directory.apply(change);
    assert.equal(await driver.deliver(), 'ok');
    await driver.flush();
    const window = (await driver.store.load([newcomer])).get(newcomer)?.window;
    assert.equal(
      [...(window?.buckets.values() ?? [])].reduce((sum, bucket) => sum + bucket.total, 0),
      3,
    );
    assert.deepEqual(driver.deadLettered(), []);
  });

  it('dead-letters the mail of a tenant that stays unknown, after the wait, and its later mail at once', async () => {
    const driver = new EpisodeDriver();
    await mailOf(driver, 'nobody', 1, START);
    for (let attempt = 1; attempt < UNKNOWN_TENANT_ATTEMPTS; attempt++)
      assert.equal(await driver.deliver(), 'failed');
    assert.equal(await driver.deliver(), 'ok');
    assert.deepEqual(driver.deadLettered(), ['UNKNOWN_TENANT']);
    await mailOf(driver, 'nobody', 1, START + MINUTE_MS);
    assert.equal(await driver.deliver(), 'ok', 'no second wait for a tenant known to be unknown');
    assert.deepEqual(driver.deadLettered(), ['UNKNOWN_TENANT', 'UNKNOWN_TENANT']);
  });
});
