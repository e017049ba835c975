// The webhook deliverer as `relayguard all` runs it (the runtime, embedded adapters): a block the scorer would
// publish and an operator's unblock through the admin service reach the receiver of RELAYGUARD_WEBHOOKS, signed,
// and a deliverer started without RELAYGUARD_WEBHOOKS posts to an endpoint registered through the admin service.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { startRuntime } from '../../services/app/runtime.js';
import { Topics } from '../../services/core/topics.js';
import { loadConfig } from '../../services/platform/config.js';
import { silentLogger } from '../../services/platform/logger.js';
import { EventTypes } from '../../services/webhooks/cloud-event.js';
import { blockedEvent } from '../support/block-events.js';
import { OPERATOR } from '../support/pipeline-driver.js';
import { cleanupStack, waitFor } from '../support/tether.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

describe('webhooks in the runtime', () => {
  it('delivers the blocks and unblocks of the running services to RELAYGUARD_WEBHOOKS', async (t) => {
    const defer = cleanupStack(t);
    const secret = `whsec-${randomUUID()}`;
    const receiver = await startWebhookReceiver(secret);
    defer(() => receiver.stop());
    const config = loadConfig({
      RELAYGUARD_WEBHOOKS: JSON.stringify([{ id: 'notifications', url: receiver.url, secret }]),
      RELAYGUARD_WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    const runtime = await startRuntime(config, { services: ['admin', 'webhooks'], logger: silentLogger });
    defer(() => runtime.stop());
    await runtime.ready;

    const block = blockedEvent('contoso', 'contoso@2026-12-01T09:00Z');
    const { log, codec } = runtime.adapters;
    await log.publish(Topics.tenantBlocks, [
      { key: 'contoso', value: await codec.encode(Topics.tenantBlocks, block) },
    ]);
    await waitFor(() => runtime.directory.tenant('contoso')?.block, {
      description: 'the block in the directory',
    });
    await runtime.admin!.unblock(OPERATOR, 'contoso', {
      ticket: 'SUP-7',
      attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
    });
    await waitFor(() => receiver.received.length === 2, { description: 'both deliveries' });
    const events = receiver.received.map(
      (request) => JSON.parse(request.body) as { type: string; data: { ticket?: string } },
    );
    assert.deepEqual(
      events.map((event) => event.type),
      [EventTypes.blocked, EventTypes.unblocked],
    );
    assert.equal(events[1]!.data.ticket, 'SUP-7');
    assert.ok(receiver.received.every((request) => request.verdict.valid));
  });

  it('without RELAYGUARD_WEBHOOKS, delivers to an endpoint registered through the admin service', async (t) => {
    const defer = cleanupStack(t);
    const secret = `whsec-${randomUUID()}`;
    const receiver = await startWebhookReceiver(secret);
    defer(() => receiver.stop());
    const config = loadConfig({ RELAYGUARD_WEBHOOK_ALLOW_PRIVATE: 'true' });
    const runtime = await startRuntime(config, { services: ['admin', 'webhooks'], logger: silentLogger });
    defer(() => runtime.stop());
    await runtime.ready;
    await runtime.webhookEndpoints!.create(OPERATOR, 'notifications', { url: receiver.url, secret });
    await waitFor(() => runtime.webhooks!.endpoints.get('notifications'), {
      description: 'the deliverer learning the endpoint',
    });
    const { log, codec } = runtime.adapters;
    const block = blockedEvent('contoso', 'contoso@2026-12-01T09:00Z');
    await log.publish(Topics.tenantBlocks, [
      { key: 'contoso', value: await codec.encode(Topics.tenantBlocks, block) },
    ]);
    await waitFor(() => receiver.received.length === 1, { description: 'the delivery' });
    assert.ok(receiver.received[0]!.verdict.valid);
  });
});
