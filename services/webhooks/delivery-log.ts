// The webhook delivery log as the admin API shows it: the deliverers publish each attempt's outcome to
// relayguard.webhook-deliveries.v1 (key = endpoint id), and the admin service reads that topic from its beginning
// (no consumer group, like the audit trail) and keeps, per endpoint, where each of its recent deliveries stands:
// the latest record of an event (and replay) replaces the earlier ones. Bounded on purpose: the topic is the
// complete record; this is what an operator reads to see whether an endpoint keeps up.
import type { WebhookDelivery } from '../core/contracts.generated.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { EventLog, SchemaCodec, Subscription } from '../platform/ports.js';
import { startTopicFeed } from '../platform/topic-feed.js';

export const DELIVERY_LOG_PER_ENDPOINT = 100;
/** Endpoints are registered by operators: a few. Past this, the endpoint whose log changed longest ago is dropped. */
export const DELIVERY_LOG_ENDPOINTS = 1_000;

export interface DeliveryLogPage {
  /** Newest first. */
  readonly deliveries: readonly WebhookDelivery[];
  /** True when older deliveries of the endpoint were dropped here (the topic still holds them). */
  readonly truncated: boolean;
  /** False while the delivery log topic is still being read from its beginning. */
  readonly caughtUp: boolean;
}

/** Time first; within a millisecond, a later attempt, or the outcome after the retry it follows. */
function isLater(a: WebhookDelivery, b: WebhookDelivery): boolean {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt > b.occurredAt;
  if (a.attempts !== b.attempts) return a.attempts > b.attempts;
  return a.status !== 'RETRYING' && b.status === 'RETRYING';
}

const deliveryKey = (delivery: WebhookDelivery) => `${delivery.replayId ?? ''}/${delivery.eventId}`;

export class DeliveryLog {
  /** Per endpoint, deliveries by key in the order of their latest record (oldest first); endpoints likewise. */
  readonly #byEndpoint = new Map<string, { deliveries: Map<string, WebhookDelivery>; truncated: boolean }>();
  readonly #perEndpoint: number;
  #caughtUp = false;

  constructor(perEndpoint = DELIVERY_LOG_PER_ENDPOINT) {
    this.#perEndpoint = perEndpoint;
  }

  add(delivery: WebhookDelivery): void {
    const kept = this.#byEndpoint.get(delivery.endpointId) ?? { deliveries: new Map(), truncated: false };
    this.#byEndpoint.delete(delivery.endpointId);
    this.#byEndpoint.set(delivery.endpointId, kept);
    const key = deliveryKey(delivery);
    const previous = kept.deliveries.get(key);
    // A record read again (the feed starts over after a reconnect) must not move a delivery back in time.
    if (previous && isLater(previous, delivery)) return;
    kept.deliveries.delete(key);
    kept.deliveries.set(key, delivery);
    if (kept.deliveries.size > this.#perEndpoint) {
      kept.deliveries.delete(kept.deliveries.keys().next().value!);
      kept.truncated = true;
    }
    if (this.#byEndpoint.size > DELIVERY_LOG_ENDPOINTS) {
      this.#byEndpoint.delete(this.#byEndpoint.keys().next().value!);
    }
  }

  markCaughtUp(): void {
    this.#caughtUp = true;
  }

  recent(endpointId: string, limit = this.#perEndpoint): DeliveryLogPage {
    const kept = this.#byEndpoint.get(endpointId);
    const deliveries = kept ? [...kept.deliveries.values()].reverse().slice(0, limit) : [];
    return { deliveries, truncated: kept?.truncated ?? false, caughtUp: this.#caughtUp };
  }
}

export interface DeliveryLogFeedDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly deliveryLog: DeliveryLog;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function startDeliveryLogFeed(deps: DeliveryLogFeedDeps): Promise<Subscription> {
  return startTopicFeed({
    ...deps,
    topic: Topics.webhookDeliveries,
    apply: (delivery) => deps.deliveryLog.add(delivery),
    caughtUp: () => deps.deliveryLog.markCaughtUp(),
  });
}
