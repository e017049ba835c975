// The webhook deliverer: posts each block and unblock to the endpoints that want it, for services that do not
// read Kafka. It is a member of a consumer group on the tenant-blocks topic (a BlockSubscriber), so each change is
// delivered by one deliverer, and the group's offset moves past a change only once every endpoint has it or it is
// dead-lettered: a deliverer that crashes mid-delivery leaves the change to the next one (at least once, so a
// receiver deduplicates on the Idempotency-Key header, the event id). Changes are delivered one at a time in
// topic order, so each tenant's arrive in order. A failed attempt is retried with exponential back-off up to the
// attempt limit; then, or at once when the receiver refuses the request (4xx) or the destination is not allowed,
// the CloudEvent goes to relayguard.webhooks.dlq.v1 with the reason. Each attempt's outcome goes to the delivery
// log (relayguard.webhook-deliveries.v1). Replays an operator requested (relayguard.webhook-replays.v1) are
// delivered the same way, by a group of their own. Logs name endpoints by id, never by URL or secret.
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebhookDeliveryStatus } from '../core/contracts.generated.js';
import { isRelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import { systemClock } from '../platform/clock.js';
import type { WebhookEndpoint } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, EventLog, RecordBatch, SchemaCodec, Subscription } from '../platform/ports.js';
import { BlockSubscriber } from '../sdk/subscriber/block-subscriber.js';
import type { BlockChange } from '../sdk/subscriber/block-view.js';
import { cloudEventOf, type WebhookPayload } from './cloud-event.js';
import { attemptDelivery } from './delivery-attempt.js';
import { EndpointRegistry, startEndpointFeed } from './endpoints.js';

export const WEBHOOKS_GROUP_ID = 'relayguard-webhooks';

/** Headers of a dead-lettered delivery. */
export const WebhookDlqHeaders = {
  endpoint: 'relayguard.webhook.endpoint',
  reason: 'relayguard.webhook.reason',
  attempts: 'relayguard.webhook.attempts',
  /** Present when the delivery was a replay. */
  replay: 'relayguard.webhook.replay',
} as const;

export interface WebhookDelivererOptions {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  /** RELAYGUARD_WEBHOOKS; they take precedence over endpoints registered through the admin API with the same id. */
  readonly endpoints: readonly WebhookEndpoint[];
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Loopback, private and link-local destinations allowed (RELAYGUARD_WEBHOOK_ALLOW_PRIVATE). */
  readonly allowPrivate: boolean;
  /** Attempts per endpoint and change before it is dead-lettered (RELAYGUARD_WEBHOOK_MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** The wait after the first failed attempt; it doubles after each, up to maxBackoffMs. */
  readonly firstBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long one request may take. */
  readonly timeoutMs?: number;
  readonly groupId?: string;
  /** The tenant-blocks topic's name (tests use their own). */
  readonly topic?: string;
  /** Signature timestamps. */
  readonly clock?: Clock;
}

/** One CloudEvent for one endpoint: a change as it happened, or part of a replay. */
interface Delivery {
  readonly endpoint: WebhookEndpoint;
  readonly tenantId: string;
  readonly payload: WebhookPayload;
  readonly replayId: string | null;
}

export class WebhookDeliverer {
  readonly #options: WebhookDelivererOptions;
  readonly #registry: EndpointRegistry;
  readonly #subscriber: BlockSubscriber;
  readonly #clock: Clock;
  /** Aborted on close: back-offs and requests in flight end, and their change is left to be delivered again. */
  readonly #closing = new AbortController();
  #endpointFeed: Subscription | undefined;
  #replays: Subscription | undefined;

  constructor(options: WebhookDelivererOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#registry = new EndpointRegistry(options.endpoints);
    this.#subscriber = new BlockSubscriber({
      log: options.log,
      codec: options.codec,
      groupId: options.groupId ?? WEBHOOKS_GROUP_ID,
      topic: options.topic,
      onError: (error, where) =>
        options.logger.warn(
          { err: error, ...where },
          'webhooks: a tenant-blocks record was not delivered yet',
        ),
    });
    this.#subscriber.on('blocked', (change) => this.#deliver(change));
    this.#subscriber.on('unblocked', (change) => this.#deliver(change));
  }

  /** Resolves once the group's backlog is delivered (or dead-lettered). */
  get ready(): Promise<void> {
    return this.#subscriber.ready;
  }

  /** The endpoints this deliverer posts to (RELAYGUARD_WEBHOOKS and those registered through the admin API). */
  get endpoints(): EndpointRegistry {
    return this.#registry;
  }

  async start(): Promise<void> {
    const { log, codec, logger, metrics } = this.#options;
    this.#endpointFeed = await startEndpointFeed({ log, codec, logger, metrics, registry: this.#registry });
    // A change handled before the registered endpoints are known would be acknowledged without reaching them.
    await this.#endpointFeed.caughtUp;
    await this.#subscriber.start();
    this.#replays = await log.subscribe({
      groupId: `${this.#options.groupId ?? WEBHOOKS_GROUP_ID}-replays`,
      topics: [Topics.webhookReplays],
      handleBatch: (batch) => this.#replay(batch),
    });
  }

  /** Ends the deliveries in flight without acknowledging them (the next deliverer sends them), then leaves the groups. */
  async close(): Promise<void> {
    this.#closing.abort(new Error('webhook deliverer closing'));
    await this.#subscriber.close();
    await this.#replays?.stop();
    await this.#endpointFeed?.stop();
  }

  async #deliver(change: BlockChange): Promise<void> {
    const payload = cloudEventOf(change);
    const targets = this.#registry.targets(change.kind, change.tenantId);
    await Promise.all(
      targets.map((endpoint) =>
        this.#deliverTo({ endpoint, tenantId: change.tenantId, payload, replayId: null }),
      ),
    );
  }

  async #replay(batch: RecordBatch): Promise<void> {
    const { codec, logger } = this.#options;
    const records = batch.records.filter((record) => record.value !== null);
    const decoded = await codec.decodeAll(
      Topics.webhookReplays,
      records.map((record) => record.value!),
    );
    for (const [i, replay] of decoded.entries()) {
      if (isRelayguardError(replay)) {
        logger.error(
          { topic: batch.topic, partition: batch.partition, offset: records[i]!.offset, code: replay.code },
          'skipped an unreadable webhook replay record',
        );
        continue;
      }
      const endpoint = this.#registry.get(replay.endpointId);
      if (!endpoint) {
        logger.warn(
          { endpoint: replay.endpointId, replayId: replay.replayId, eventId: replay.eventId },
          'webhook replay skipped: the endpoint was removed',
        );
        continue;
      }
      const payload = { id: replay.eventId, type: replay.eventType, body: replay.cloudEvent };
      await this.#deliverTo({ endpoint, tenantId: replay.tenantId, payload, replayId: replay.replayId });
    }
  }

  async #deliverTo(delivery: Delivery): Promise<void> {
    const { logger, metrics, maxAttempts } = this.#options;
    const { endpoint, tenantId, payload, replayId } = delivery;
    const context = { endpoint: endpoint.id, tenantId, eventId: payload.id, replayId };
    const first = this.#options.firstBackoffMs ?? 1_000;
    for (let attempt = 1; ; attempt++) {
      const result = await attemptDelivery(endpoint, payload, {
        allowPrivate: this.#options.allowPrivate,
        clock: this.#clock,
        timeoutMs: this.#options.timeoutMs ?? 10_000,
        closing: this.#closing.signal,
      });
      if (result.outcome === 'delivered') {
        await this.#logDelivery(delivery, 'DELIVERED', attempt, null);
        metrics.webhookDeliveries.inc({ endpoint: endpoint.id, outcome: 'delivered' });
        logger.info({ ...context, attempt }, 'webhook delivered');
        return;
      }
      if (result.outcome === 'refused' || attempt >= maxAttempts) {
        await this.#deadLetter(delivery, result.reason, attempt);
        return;
      }
      await this.#logDelivery(delivery, 'RETRYING', attempt, result.reason);
      metrics.webhookDeliveries.inc({ endpoint: endpoint.id, outcome: 'retried' });
      const delay = Math.min(this.#options.maxBackoffMs ?? 60_000, first * 2 ** (attempt - 1));
      logger.warn(
        { ...context, attempt, reason: result.reason, retryInMs: delay },
        'webhook delivery failed',
      );
      // Closing: the change stays unacknowledged, so the next deliverer of the group sends it.
      await sleep(delay, undefined, { signal: this.#closing.signal });
    }
  }

  /** The attempt's outcome in the delivery log; published before the change is acknowledged, like a dead letter. */
  async #logDelivery(
    delivery: Delivery,
    status: WebhookDeliveryStatus,
    attempts: number,
    lastError: string | null,
  ): Promise<void> {
    const { codec, log } = this.#options;
    const value = await codec.encode(Topics.webhookDeliveries, {
      endpointId: delivery.endpoint.id,
      eventId: delivery.payload.id,
      eventType: delivery.payload.type,
      tenantId: delivery.tenantId,
      status,
      attempts,
      lastError,
      replayId: delivery.replayId,
      occurredAt: this.#clock.now(),
    });
    await log.publish(Topics.webhookDeliveries, [{ key: delivery.endpoint.id, value }]);
  }

  async #deadLetter(delivery: Delivery, reason: string, attempts: number): Promise<void> {
    const { endpoint, tenantId, payload, replayId } = delivery;
    // Published before the change is acknowledged: if this fails, the change is delivered again.
    await this.#options.log.publish(Topics.webhooksDlq, [
      {
        key: tenantId,
        value: Buffer.from(payload.body),
        headers: {
          [WebhookDlqHeaders.endpoint]: endpoint.id,
          [WebhookDlqHeaders.reason]: reason,
          [WebhookDlqHeaders.attempts]: String(attempts),
          ...(replayId === null ? {} : { [WebhookDlqHeaders.replay]: replayId }),
        },
      },
    ]);
    await this.#logDelivery(delivery, 'DEAD_LETTERED', attempts, reason);
    this.#options.metrics.webhookDeliveries.inc({ endpoint: endpoint.id, outcome: 'dead_lettered' });
    this.#options.logger.error(
      { endpoint: endpoint.id, tenantId, eventId: payload.id, replayId, attempts, reason },
      'webhook dead-lettered',
    );
  }
}
