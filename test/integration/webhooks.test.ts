// The webhook deliverer against a real HTTP receiver on a loopback port, on the memory log: signed CloudEvents in
// order per tenant, retries with back-off, dead letters with the reason, the destination check, and a deliverer
// closed mid-delivery leaving the change to the next member of its group.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { systemClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import type { WebhookEndpoint } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { Metrics } from '../../services/platform/metrics.js';
import { SIGNATURE_HEADER, verifyWebhook } from '../../services/sdk/webhook-signature.js';
import { EventTypes } from '../../services/webhooks/cloud-event.js';
import {
  WebhookDeliverer,
  type WebhookDelivererOptions,
  WebhookDlqHeaders,
} from '../../services/webhooks/deliverer.js';
import { blockedEvent, blockRecords, unblockedEvent } from '../support/block-events.js';
import { cleanupStack, waitFor } from '../support/tether.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = `whsec-${randomUUID()}`;

interface Harness {
  readonly log: MemoryEventLog;
  readonly metrics: Metrics;
  readonly receiver: WebhookReceiver;
  /** Everything the deliverers logged, as JSON lines. */
  readonly logs: string[];
  publish(...events: TenantBlockEvent[]): Promise<void>;
  deliverer(
    options?: Partial<WebhookDelivererOptions>,
    endpoint?: Partial<WebhookEndpoint>,
  ): WebhookDeliverer;
  metric(endpoint: string, outcome: string): Promise<number>;
}

async function harness(t: { after(fn: () => unknown): void }): Promise<Harness> {
  const defer = cleanupStack(t);
  const log = new MemoryEventLog({ clock: systemClock, partitions: 3 });
  defer(() => log.close());
  const codec = new EmbeddedCodec();
  const receiver = await startWebhookReceiver(SECRET);
  defer(() => receiver.stop());
  const metrics = new Metrics({ processMetrics: false });
  const logs: string[] = [];
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  return {
    log,
    metrics,
    receiver,
    logs,
    publish: async (...events) => log.publish(Topics.tenantBlocks, await blockRecords(codec, events)),
    deliverer(options = {}, endpoint = {}) {
      const deliverer = new WebhookDeliverer({
        log,
        codec,
        metrics,
        logger,
        endpoints: [
          {
            id: 'billing',
            url: receiver.url,
            secret: SECRET,
            events: ['blocked', 'unblocked'],
            tenants: undefined,
            ...endpoint,
          },
        ],
        allowPrivate: true,
        maxAttempts: 5,
        firstBackoffMs: 20,
        ...options,
      });
      defer(() => deliverer.close());
      return deliverer;
    },
    async metric(endpoint, outcome) {
      const [json] = await metrics.registry
        .getMetricsAsJSON()
        .then((all) => all.filter((m) => m.name === 'relayguard_webhook_deliveries_total'));
      const values = (json?.values ?? []) as { value: number; labels: Record<string, string> }[];
      return values.find((v) => v.labels.endpoint === endpoint && v.labels.outcome === outcome)?.value ?? 0;
    },
  };
}

const cloudEvent = (body: string) =>
  JSON.parse(body) as { id: string; type: string; subject: string; data: Record<string, unknown> };

describe('webhook deliverer', () => {
  it('posts signed CloudEvents of a block and its unblock, in order, that the SDK helper verifies', async (t) => {
    const h = await harness(t);
    await h.publish(
      blockedEvent('contoso', 'contoso#1'),
      blockedEvent('fabrikam', 'fabrikam#1'),
      unblockedEvent('contoso', 'contoso#1'),
    );
    await h.deliverer({}, { tenants: ['contoso'] }).start();
    await waitFor(() => h.receiver.received.length === 2, { description: 'two deliveries' });

    const [blocked, unblocked] = h.receiver.received.map((request) => ({
      ...request,
      event: cloudEvent(request.body),
    }));
    assert.deepEqual(
      [blocked!.event.type, unblocked!.event.type],
      [EventTypes.blocked, EventTypes.unblocked],
    );
    assert.equal(blocked!.headers['content-type'], 'application/cloudevents+json');
    // The idempotency key of a block is its (deterministic) block id.
    assert.equal(blocked!.headers['idempotency-key'], 'contoso#1');
    assert.equal(blocked!.event.id, 'contoso#1');
    assert.equal(blocked!.event.subject, 'contoso');
    assert.equal((blocked!.event.data.evidence as { unregistered: number }).unregistered, 620);
    assert.equal(unblocked!.event.data.ticket, 'SUP-42');
    for (const request of [blocked!, unblocked!]) assert.equal(request.verdict.valid, true);

    // What a receiver refuses: a tampered body, another secret, a delivery replayed after the window.
    const header = blocked!.headers[SIGNATURE_HEADER] as string;
    const tampered = blocked!.body.replace('"unregistered":620', '"unregistered":6');
    assert.notEqual(tampered, blocked!.body);
    assert.deepEqual(verifyWebhook({ secret: SECRET, header, body: tampered }), {
      valid: false,
      reason: 'mismatch',
    });
    assert.deepEqual(verifyWebhook({ secret: 'another-secret-0123456789', header, body: blocked!.body }), {
      valid: false,
      reason: 'mismatch',
    });
    assert.deepEqual(
      verifyWebhook({ secret: SECRET, header, body: blocked!.body, now: Date.now() + 301_000 }),
      { valid: false, reason: 'expired' },
    );
    assert.equal(await h.metric('billing', 'delivered'), 2);
  });

  it('retries with a growing back-off while the receiver fails, then delivers', async (t) => {
    const h = await harness(t);
    h.receiver.answer = (n) => (n < 3 ? 503 : 200);
    await h.publish(blockedEvent('contoso', 'contoso#1'));
    await h.deliverer({ firstBackoffMs: 50 }).start();
    await waitFor(() => h.receiver.received.length === 4, { description: 'four attempts' });
    const keys = new Set(h.receiver.received.map((request) => request.headers['idempotency-key']));
    assert.deepEqual([...keys], ['contoso#1']);
    const gaps = h.receiver.received.slice(1).map((request, i) => request.at - h.receiver.received[i]!.at);
    // 50, 100, 200 ms at least: exponential back-off.
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= 50 * 2 ** i - 5, `gap ${i}: ${gap} ms`);
    await waitFor(async () => (await h.metric('billing', 'delivered')) === 1, { description: 'the metric' });
    assert.equal(await h.metric('billing', 'retried'), 3);
    assert.equal(await h.metric('billing', 'dead_lettered'), 0);
  });

  it('dead-letters after the last attempt with the reason, goes on with the next change, and logs no secret', async (t) => {
    const h = await harness(t);
    h.receiver.answer = (n) => (n < 3 ? 500 : 200);
    await h.publish(blockedEvent('contoso', 'contoso#1'));
    await h.deliverer({ maxAttempts: 3 }).start();
    await waitFor(() => h.log.records(Topics.webhooksDlq).length === 1, { description: 'the dead letter' });
    const [dead] = h.log.records(Topics.webhooksDlq);
    assert.equal(dead!.key, 'contoso');
    assert.equal(cloudEvent(dead!.value!.toString()).id, 'contoso#1');
    assert.deepEqual(
      [
        dead!.headers[WebhookDlqHeaders.endpoint],
        dead!.headers[WebhookDlqHeaders.reason],
        dead!.headers[WebhookDlqHeaders.attempts],
      ],
      ['billing', 'the receiver answered 500', '3'],
    );
    assert.equal(await h.metric('billing', 'dead_lettered'), 1);

    await h.publish(blockedEvent('fabrikam', 'fabrikam#1'));
    await waitFor(
      () => h.receiver.received.some((request) => request.headers['idempotency-key'] === 'fabrikam#1'),
      {
        description: 'the next change',
      },
    );
    const logged = h.logs.join('');
    assert.match(logged, /webhook dead-lettered/);
    assert.ok(!logged.includes(SECRET), 'the secret was logged');
    assert.ok(!logged.includes(h.receiver.url), 'the URL was logged');
  });

  it('dead-letters at once what the receiver refuses (4xx), and retries a 429', async (t) => {
    const h = await harness(t);
    h.receiver.answer = (n) => [429, 401][n] ?? 200;
    await h.publish(blockedEvent('contoso', 'contoso#1'));
    await h.deliverer().start();
    await waitFor(() => h.log.records(Topics.webhooksDlq).length === 1, { description: 'the dead letter' });
    assert.equal(h.receiver.received.length, 2);
    assert.equal(
      h.log.records(Topics.webhooksDlq)[0]!.headers[WebhookDlqHeaders.reason],
      'the receiver answered 401',
    );
  });

  it('refuses a loopback destination unless private destinations are allowed (SSRF)', async (t) => {
    const h = await harness(t);
    await h.publish(blockedEvent('contoso', 'contoso#1'));
    await h.deliverer({ allowPrivate: false }).start();
    await waitFor(() => h.log.records(Topics.webhooksDlq).length === 1, { description: 'the dead letter' });
    assert.equal(h.receiver.received.length, 0);
    assert.match(
      h.log.records(Topics.webhooksDlq)[0]!.headers[WebhookDlqHeaders.reason]!,
      /destination refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1 \(loopback\)/,
    );
  });

  it('leaves a change it was still retrying when closed to the next deliverer of the group (at least once)', async (t) => {
    const h = await harness(t);
    h.receiver.answer = () => 503;
    await h.publish(blockedEvent('contoso', 'contoso#1'));
    const first = h.deliverer({ firstBackoffMs: 60_000 });
    await first.start();
    await waitFor(() => h.receiver.received.length === 1, { description: 'the first attempt' });
    await first.close();

    h.receiver.answer = () => 200;
    await h.publish(unblockedEvent('contoso', 'contoso#1'));
    await h.deliverer().start();
    await waitFor(() => h.receiver.received.length === 3, { description: 'the redelivery and the unblock' });
    assert.deepEqual(
      h.receiver.received.map((request) => cloudEvent(request.body).type),
      [EventTypes.blocked, EventTypes.blocked, EventTypes.unblocked],
    );
    assert.equal(h.log.records(Topics.webhooksDlq).length, 0);
  });
});
