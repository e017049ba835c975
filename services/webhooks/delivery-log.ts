// The webhook delivery log as the admin API shows it: the deliverers publish each attempt's outcome to
// relayguard.webhook-deliveries.v1 (key = endpoint id), and the admin service reads that topic from its beginning
// (no consumer group, like the audit trail) and keeps, per endpoint, where each of its recent deliveries stands:
// the latest record of an event (and replay) replaces the earlier ones. Bounded on purpose: the topic is the
// complete record; this is what an operator reads to see whether an endpoint keeps up.
import type { WebhookDelivery } from '../core/contracts.generated.js';
import { Topics } from '../core/topics.js';
import { RecentRecords, type RecentState } from '../platform/recent-records.js';

export const DELIVERY_LOG_PER_ENDPOINT = 100;
/** Endpoints are registered by operators: a few. Past this, the endpoint whose log changed longest ago is dropped. */
export const DELIVERY_LOG_ENDPOINTS = 1_000;

export interface DeliveryLogPage extends RecentState {
  /** Newest first. */
  readonly deliveries: readonly WebhookDelivery[];
}

/** Time first; within a millisecond, a later attempt, or the outcome after the retry it follows. */
function isLater(a: WebhookDelivery, b: WebhookDelivery): boolean {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt > b.occurredAt;
  if (a.attempts !== b.attempts) return a.attempts > b.attempts;
  return a.status !== 'RETRYING' && b.status === 'RETRYING';
}

export class DeliveryLog extends RecentRecords<typeof Topics.webhookDeliveries> {
  constructor(perEndpoint = DELIVERY_LOG_PER_ENDPOINT) {
    super({
      topic: Topics.webhookDeliveries,
      perOwner: perEndpoint,
      owners: DELIVERY_LOG_ENDPOINTS,
      ownerOf: (delivery) => delivery.endpointId,
      // One delivery per event and replay; a record read again after a reconnect does not move it back in time.
      idOf: (delivery) => `${delivery.replayId ?? ''}/${delivery.eventId}`,
      replaces: (kept, next) => !isLater(kept, next),
    });
  }

  recent(endpointId: string, limit?: number): DeliveryLogPage {
    const { records, ...state } = this.newest(endpointId, limit);
    return { deliveries: records, ...state };
  }
}
