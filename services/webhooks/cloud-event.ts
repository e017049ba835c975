// What a webhook carries: a CloudEvents 1.0 event in structured JSON mode (content type
// application/cloudevents+json), so a receiver can use any CloudEvents SDK. `id` is the tenant-blocks event's id:
// the block id for a block (deterministic, so a redelivery or a duplicate publish carries the same id), the
// unblock's own id for an unblock. Receivers deduplicate on it (it is also the Idempotency-Key header).
import type { BlockChange } from '../sdk/subscriber/block-view.js';

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export const EventTypes = {
  blocked: 'io.relayguard.tenant.blocked.v1',
  unblocked: 'io.relayguard.tenant.unblocked.v1',
} as const;

export interface WebhookPayload {
  readonly id: string;
  /** The CloudEvent's type (EventTypes). */
  readonly type: string;
  readonly body: string;
}

export function cloudEventOf(change: BlockChange): WebhookPayload {
  const data = change.kind === 'blocked' ? change.block : { tenantId: change.tenantId, ...change.unblock };
  const event = {
    specversion: '1.0',
    id: change.event.eventId,
    source: 'relayguard',
    type: EventTypes[change.kind],
    subject: change.tenantId,
    time: new Date(change.event.occurredAt).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
  return { id: event.id, type: event.type, body: JSON.stringify(event) };
}
