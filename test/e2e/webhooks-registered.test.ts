// Webhook endpoints across processes on the production components (the real Kafka broker, the Schema Registry
// double, Redis): an endpoint registered through `relayguard admin`'s API reaches a `relayguard webhooks` process
// started without RELAYGUARD_WEBHOOKS through relayguard.webhook-endpoints.v1, and the deliverer's outcome comes
// back to the admin API's delivery log through relayguard.webhook-deliveries.v1.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { blockedEvent } from '../support/block-events.js';
import { startServiceProcess } from '../support/scorer-process.js';
import { cleanupStack, freePort, waitFor } from '../support/tether.js';
import { startWebhookStack } from '../support/webhook-stack.js';

describe('webhook endpoints across processes', () => {
  it('a deliverer posts to an endpoint registered through another process, whose delivery log shows it', async (t) => {
    const defer = cleanupStack(t);
    const { stack, secret, receiver, publishBlocks } = await startWebhookStack(defer);
    const token = randomUUID().replaceAll('-', '');
    const port = await freePort();
    const env = {
      ...stack.env,
      RELAYGUARD_TOKENS: `${token}:operator`,
      RELAYGUARD_WEBHOOK_ALLOW_PRIVATE: 'true',
    };
    const admin = await startServiceProcess({ ...env, RELAYGUARD_HTTP_PORT: String(port) }, 'admin');
    defer(() => admin.process.stop());
    await admin.ready;
    const api = (method: string, path: string, body?: object) =>
      fetch(`http://127.0.0.1:${port}/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body && JSON.stringify(body),
      });
    const created = await api('POST', '/webhooks', { id: 'ops', url: receiver.url, secret });
    assert.equal(created.status, 201, await created.clone().text());

    // Started after the registration: it reads the endpoints before it delivers anything.
    const deliverer = await startServiceProcess(env, 'webhooks');
    defer(() => deliverer.process.stop());
    await deliverer.ready;
    await publishBlocks([blockedEvent('contoso', 'contoso#1')]);

    await waitFor(() => receiver.received.length === 1, { description: 'the delivery', timeoutMs: 60_000 });
    assert.equal(receiver.received[0]!.headers['idempotency-key'], 'contoso#1');
    assert.ok(receiver.received[0]!.verdict.valid);
    const logged = await waitFor(
      async () => {
        const page = (await (await api('GET', '/webhooks/ops/deliveries')).json()) as {
          deliveries: { eventId: string; status: string; attempts: number }[];
        };
        return page.deliveries.find((delivery) => delivery.status === 'DELIVERED');
      },
      { description: 'the delivery in the admin API’s log', timeoutMs: 30_000 },
    );
    assert.deepEqual([logged.eventId, logged.attempts], ['contoso#1', 1]);
  });
});
