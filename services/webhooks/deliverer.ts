// The webhook deliverer: posts each block and unblock to the configured endpoints, for services that do not read
// Kafka. It is a member of a consumer group on the tenant-blocks topic (a BlockSubscriber), so each change is
// delivered by one deliverer, and the group's offset moves past a change only once every endpoint has it or it is
// dead-lettered: a deliverer that crashes mid-delivery leaves the change to the next one (at least once, so a
// receiver deduplicates on the Idempotency-Key header, the event id). Changes are delivered one at a time in
// topic order, so each tenant's arrive in order. A failed attempt is retried with exponential back-off up to the
// attempt limit; then, or at once when the receiver refuses the request (4xx) or the destination is not allowed,
// the CloudEvent goes to relayguard.webhooks.dlq.v1 with the reason. Logs name endpoints by id, never by URL or
// secret.
import { setTimeout as sleep } from 'node:timers/promises';
import { Topics } from '../core/topics.js';
import { systemClock } from '../platform/clock.js';
import type { WebhookEndpoint } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock, EventLog, SchemaCodec } from '../platform/ports.js';
import { BlockSubscriber } from '../sdk/subscriber/block-subscriber.js';
import type { BlockChange } from '../sdk/subscriber/block-view.js';
import { SIGNATURE_HEADER, signWebhook } from '../sdk/webhook-signature.js';
import { CLOUDEVENTS_CONTENT_TYPE, cloudEventOf, type WebhookPayload } from './cloud-event.js';
import { refusedDestination } from './destination.js';

export const WEBHOOKS_GROUP_ID = 'relayguard-webhooks';

/** Headers of a dead-lettered delivery. */
export const WebhookDlqHeaders = {
  endpoint: 'relayguard.webhook.endpoint',
  reason: 'relayguard.webhook.reason',
  attempts: 'relayguard.webhook.attempts',
} as const;

export interface WebhookDelivererOptions {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
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

type Attempt =
  | { readonly outcome: 'delivered' }
  | { readonly outcome: 'retry' | 'refused'; readonly reason: string };

export class WebhookDeliverer {
  readonly #options: WebhookDelivererOptions;
  readonly #subscriber: BlockSubscriber;
  readonly #clock: Clock;
  /** Aborted on close: back-offs and requests in flight end, and their change is left to be delivered again. */
  readonly #closing = new AbortController();

  constructor(options: WebhookDelivererOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
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

  async start(): Promise<void> {
    await this.#subscriber.start();
  }

  /** Ends the deliveries in flight without acknowledging them (the next deliverer sends them), then leaves the group. */
  async close(): Promise<void> {
    this.#closing.abort(new Error('webhook deliverer closing'));
    await this.#subscriber.close();
  }

  async #deliver(change: BlockChange): Promise<void> {
    const payload = cloudEventOf(change);
    const targets = this.#options.endpoints.filter(
      (endpoint) =>
        endpoint.events.includes(change.kind) &&
        (endpoint.tenants === undefined || endpoint.tenants.includes(change.tenantId)),
    );
    await Promise.all(targets.map((endpoint) => this.#deliverTo(endpoint, change, payload)));
  }

  async #deliverTo(endpoint: WebhookEndpoint, change: BlockChange, payload: WebhookPayload): Promise<void> {
    const { logger, metrics, maxAttempts } = this.#options;
    const context = { endpoint: endpoint.id, tenantId: change.tenantId, eventId: payload.id };
    const first = this.#options.firstBackoffMs ?? 1_000;
    for (let attempt = 1; ; attempt++) {
      const result = await this.#attempt(endpoint, payload);
      if (result.outcome === 'delivered') {
        metrics.webhookDeliveries.inc({ endpoint: endpoint.id, outcome: 'delivered' });
        logger.info({ ...context, attempt }, 'webhook delivered');
        return;
      }
      if (result.outcome === 'refused' || attempt >= maxAttempts) {
        await this.#deadLetter(endpoint, change, payload, result.reason, attempt);
        return;
      }
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

  async #attempt(endpoint: WebhookEndpoint, payload: WebhookPayload): Promise<Attempt> {
    if (!this.#options.allowPrivate) {
      let refused: string | null;
      try {
        refused = await refusedDestination(endpoint.url);
      } catch (error) {
        return { outcome: 'retry', reason: `resolving the host failed: ${errorCode(error)}` };
      }
      if (refused) return { outcome: 'refused', reason: `destination refused: ${refused}` };
    }
    const timestamp = Math.floor(this.#clock.now() / 1000);
    let response: Response;
    try {
      response = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': CLOUDEVENTS_CONTENT_TYPE,
          'idempotency-key': payload.id,
          'user-agent': 'relayguard-webhooks',
          [SIGNATURE_HEADER]: signWebhook(endpoint.secret, timestamp, payload.body),
        },
        body: payload.body,
        // A redirect could lead anywhere, past the destination check: it is a failure, not followed.
        redirect: 'manual',
        signal: AbortSignal.any([
          this.#closing.signal,
          AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
        ]),
      });
      await response.body?.cancel();
    } catch (error) {
      if (this.#closing.signal.aborted) throw error;
      return { outcome: 'retry', reason: `request failed: ${errorCode(error)}` };
    }
    if (response.status >= 200 && response.status < 300) return { outcome: 'delivered' };
    const reason = `the receiver answered ${response.status}`;
    // A 4xx says the request itself is refused (a bad signature, an unknown route): trying again will not help.
    // 408 and 429 say try later.
    const refused = response.status >= 400 && response.status < 500 && ![408, 429].includes(response.status);
    return { outcome: refused ? 'refused' : 'retry', reason };
  }

  async #deadLetter(
    endpoint: WebhookEndpoint,
    change: BlockChange,
    payload: WebhookPayload,
    reason: string,
    attempts: number,
  ): Promise<void> {
    // Published before the change is acknowledged: if this fails, the change is delivered again.
    await this.#options.log.publish(Topics.webhooksDlq, [
      {
        key: change.tenantId,
        value: Buffer.from(payload.body),
        headers: {
          [WebhookDlqHeaders.endpoint]: endpoint.id,
          [WebhookDlqHeaders.reason]: reason,
          [WebhookDlqHeaders.attempts]: String(attempts),
        },
      },
    ]);
    this.#options.metrics.webhookDeliveries.inc({ endpoint: endpoint.id, outcome: 'dead_lettered' });
    this.#options.logger.error(
      { endpoint: endpoint.id, tenantId: change.tenantId, eventId: payload.id, attempts, reason },
      'webhook dead-lettered',
    );
  }
}

/** A network error's code (ECONNREFUSED, ENOTFOUND, TimeoutError), never its message: it may quote the URL. */
function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : ((error as Error).name ?? 'Error');
}
