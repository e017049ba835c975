// Where the observability hooks meet the domain: the fold names the event that triggered a block (the log's
// correlation link), and monitor-mode decisions show in their own gauge rather than as blocked tenants.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { blockIdFor } from '../../../services/core/episodes.js';
import { scoreTenant } from '../../../services/core/fold.js';
import { DEFAULT_POLICY } from '../../../services/core/policy.js';
import { NO_BLOCK_STATE, type PositionedMessage, positioned } from '../../../services/core/scoring.js';
import { NO_STANDING } from '../../../services/core/tenant-terms.js';
import { messageSubmitted } from '../../support/builders.js';
import { metricValue, onboard } from '../../support/enforcement.js';
import { type PipelineDriver, startPipeline } from '../../support/pipeline-driver.js';

const T0 = Date.UTC(2026, 10, 28, 9);

describe('block trigger in the scoring fold', () => {
  it('names the event whose counting crossed the threshold, with its log position and relay queue id', () => {
    // 60 distinct unregistered domains, then repeats: D >= 50 and U reaches 100 at the 100th message.
    const messages: PositionedMessage[] = Array.from({ length: 120 }, (_, i) =>
      positioned(
        {
          tenantId: 't',
          occurredAt: T0 + i * 1000,
          senderDomain: `spam${i % 60}.example`,
          relayPath: 'ONPREM',
          connectorId: 'c1',
        },
        { partition: 3, offset: String(1000 + i) },
        `relay-1/Q${i}`,
        `Q${i}`,
      ),
    );
    const result = scoreTenant(undefined, 't', messages, DEFAULT_POLICY, {
      acceptedDomain: () => undefined,
      standing: () => NO_STANDING,
      connectorCreatedAt: () => null,
      ...NO_BLOCK_STATE,
    });
    assert.equal(result.emits.length, 1);
    const blockId = result.emits[0]!.blocked!.blockId;
    // The id is derived from the end of the window the trigger (at 09:01:39) fell in.
    assert.equal(blockId, blockIdFor('t', T0 + 2 * 60_000, 0));
    assert.deepEqual(result.triggers.get(blockId), {
      position: { partition: 3, offset: '1099' },
      eventId: 'relay-1/Q99',
      queueId: 'Q99',
    });
    assert.equal(result.triggers.size, 1);
  });
});

describe('monitor mode in the metrics', () => {
  let driver: PipelineDriver;
  before(async () => {
    driver = await startPipeline({ RELAYGUARD_POLICY_MODE: 'MONITOR' }, T0);
  });
  after(() => driver.stop());

  it('counts a tenant that would be blocked as monitor-blocked, not as blocked', async () => {
    await onboard(driver, {
      tenantId: 'acme',
      acceptedDomain: 'acme.example',
      senderIpRange: '192.0.2.0/24',
    });
    driver.clock.set(T0 + 10 * 60_000);
    await driver.publish(
      Array.from({ length: 120 }, (_, i) =>
        messageSubmitted({
          tenantId: 'acme',
          occurredAt: T0 + i * 1000,
          envelopeSenderDomain: `s${i}.example`,
        }),
      ),
    );
    await driver.settle();
    assert.equal(await metricValue(driver, 'relayguard_blocks_issued_total', { mode: 'MONITOR' }), 1);
    assert.equal(await metricValue(driver, 'relayguard_blocks_issued_total', { mode: 'ENFORCE' }), 0);
    assert.equal(await metricValue(driver, 'relayguard_tenants_monitor_blocked'), 1);
    assert.equal(await metricValue(driver, 'relayguard_tenants_blocked'), 0);
  });
});
