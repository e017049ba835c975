// The webhook fault row: `relayguard webhooks` processes on the production components (the real Kafka broker,
// the Schema Registry double, Redis) while the receiver is down for a minute, the first deliverer SIGKILLed in the
// middle of its retries. Every block and unblock reaches the receiver at least once, each tenant's in order, none
// lost, with the deliverer's own retry settings (back-off 1 s doubling to 60 s).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { blockedEvent, reblockId, unblockedEvent } from '../support/block-events.js';
import { readRecords } from '../support/enforcement.js';
import { startServiceProcess } from '../support/scorer-process.js';
import { cleanupStack, waitFor } from '../support/tether.js';
import { startWebhookStack } from '../support/webhook-stack.js';

/** From the receiver's first refused request to its first answer: issue 21's "down for a minute". */
const RECEIVER_DOWN_MS = 60_000;

describe('webhooks: receiver down, deliverer SIGKILLed mid-delivery', () => {
  it('delivers every event at least once, in order per tenant, none lost', async (t) => {
    const defer = cleanupStack(t);
    const { stack, secret, receiver, log, publishBlocks } = await startWebhookStack(defer);
    let up = false;
    receiver.answer = () => (up ? 200 : 503);

    const tenants = ['contoso', 'fabrikam', 'tailspin'];
    const published: TenantBlockEvent[] = tenants.flatMap((tenant) => [
      blockedEvent(tenant, `${tenant}@2026-12-01T09:00Z`),
      unblockedEvent(tenant, `${tenant}@2026-12-01T09:00Z`),
      blockedEvent(tenant, reblockId(tenant)),
    ]);
    await publishBlocks(published);

    const env = {
      ...stack.env,
      RELAYGUARD_WEBHOOKS: JSON.stringify([{ id: 'ops', url: receiver.url, secret }]),
      RELAYGUARD_WEBHOOK_ALLOW_PRIVATE: 'true',
      RELAYGUARD_WEBHOOK_MAX_ATTEMPTS: '20',
    };
    const first = await startServiceProcess(env, 'webhooks');
    defer(() => first.process.kill());
    await waitFor(() => receiver.received.length >= 2, {
      description: 'the first deliverer retrying',
      timeoutMs: 60_000,
    });
    const killed = await first.process.kill();
    assert.equal(killed.signal, 'SIGKILL');

    const killedAt = performance.now();

    const second = await startServiceProcess(env, 'webhooks');
    defer(() => second.process.stop());
    const downSince = receiver.received[0]!.at;
    // Down for a minute at least, and until the second deliverer was refused too (its group join waits for the
    // killed member's session to expire, longer on a loaded machine).
    await waitFor(
      () =>
        performance.now() - downSince >= RECEIVER_DOWN_MS &&
        receiver.received.some((request) => request.status === 503 && request.at > killedAt),
      {
        description: 'a minute of outage, the second deliverer retrying in it',
        timeoutMs: 3 * RECEIVER_DOWN_MS,
      },
    );
    up = true;
    const upAt = performance.now();

    const delivered = () => receiver.received.filter((request) => request.status === 200);
    const keys = () => new Set(delivered().map((request) => request.headers['idempotency-key']));
    await waitFor(() => keys().size === published.length, {
      description: `all ${published.length} events delivered`,
      timeoutMs: 120_000,
    });
    t.diagnostic(
      `receiver down ${Math.round((upAt - downSince) / 1000)} s; all ${published.length} delivered ${Math.round((performance.now() - upAt) / 1000)} s after it came back`,
    );
    assert.ok(receiver.received.every((request) => request.verdict.valid));
    for (const tenant of tenants) {
      const firstArrivals = [
        ...new Set(
          delivered()
            .filter((request) => JSON.parse(request.body).subject === tenant)
            .map((request) => request.headers['idempotency-key']),
        ),
      ];
      assert.deepEqual(
        firstArrivals,
        published.filter((event) => event.tenantId === tenant).map((event) => event.eventId),
        tenant,
      );
    }
    assert.deepEqual(await readRecords(log, Topics.webhooksDlq), []);
  });
});
