// The delivery log the admin API shows: the latest record of each delivery (event and replay) wins, a record read
// again after a reconnect does not move a delivery back, and each endpoint keeps its most recent deliveries only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WebhookDelivery } from '../../../services/core/contracts.generated.js';
import { DeliveryLog } from '../../../services/webhooks/delivery-log.js';

const at = Date.UTC(2026, 11, 1, 9);
const record = (overrides: Partial<WebhookDelivery>): WebhookDelivery => ({
  endpointId: 'billing',
  eventId: 'contoso#1',
  eventType: 'io.relayguard.tenant.blocked.v1',
  tenantId: 'contoso',
  status: 'RETRYING',
  attempts: 1,
  lastError: 'the receiver answered 503',
  replayId: null,
  occurredAt: at,
  ...overrides,
});

describe('delivery log', () => {
  it('shows where each delivery stands, and a record read again does not move it back', () => {
    const log = new DeliveryLog();
    const first = record({});
    const second = record({ attempts: 2, occurredAt: at + 1000 });
    const delivered = record({ status: 'DELIVERED', attempts: 3, lastError: null, occurredAt: at + 3000 });
    for (const delivery of [first, second, delivered, first, second]) log.add(delivery);
    assert.deepEqual(log.recent('billing').deliveries, [delivered]);

    // Within one millisecond: the later attempt, then the outcome after its retry record.
    const quick = new DeliveryLog();
    const retried = record({ eventId: 'e2' });
    const done = record({ eventId: 'e2', status: 'DEAD_LETTERED' });
    for (const delivery of [retried, done, retried]) quick.add(delivery);
    assert.deepEqual(quick.recent('billing').deliveries, [done]);
  });

  it('keeps a replay apart from the delivery it repeats, newest first', () => {
    const log = new DeliveryLog();
    const original = record({ status: 'DEAD_LETTERED', attempts: 8 });
    const replayed = record({
      status: 'DELIVERED',
      replayId: 'r1',
      lastError: null,
      occurredAt: at + 60_000,
    });
    log.add(original);
    log.add(replayed);
    assert.deepEqual(log.recent('billing').deliveries, [replayed, original]);
    assert.deepEqual(log.recent('other').deliveries, []);
  });

  it('keeps the most recent deliveries of each endpoint, and says when it dropped older ones', () => {
    const log = new DeliveryLog(3);
    for (let i = 0; i < 5; i++) log.add(record({ eventId: `e${i}`, occurredAt: at + i }));
    const page = log.recent('billing');
    assert.deepEqual(
      page.deliveries.map((delivery) => delivery.eventId),
      ['e4', 'e3', 'e2'],
    );
    assert.equal(page.truncated, true);
    assert.equal(page.caughtUp, false);
    log.markCaughtUp();
    assert.deepEqual(
      log.recent('billing', 1).deliveries.map((delivery) => delivery.eventId),
      ['e4'],
    );
    assert.equal(log.recent('billing').caughtUp, true);
  });
});
