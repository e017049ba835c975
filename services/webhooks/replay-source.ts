// What a replay delivers again to an endpoint (`relayguard webhooks replay`), read from the topics as they are:
// the endpoint's dead letters (relayguard.webhooks.dlq.v1, the CloudEvents exactly as they were posted), or the
// block changes since a time (relayguard.tenant-blocks.v1 read from its beginning through the subscriber's view,
// so a replay delivers exactly the changes a deliverer delivered, never a duplicate publish or a block an unblock
// had lifted). Each tenant's events stay in their order: one tenant's records are in one partition.
import { RelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import type { WebhookEndpoint } from '../platform/config.js';
import type { EventLog, LogRecord, SchemaCodec } from '../platform/ports.js';
import { BlockSubscriber } from '../sdk/subscriber/block-subscriber.js';
import type { BlockChange } from '../sdk/subscriber/block-view.js';
import { cloudEventOf, type WebhookPayload } from './cloud-event.js';
import { WebhookDlqHeaders } from './deliverer.js';
import { receives } from './endpoints.js';

/** A replay is one publish to the replay topic; past this many events, narrow it by tenant or time. */
export const MAX_REPLAY_EVENTS = 10_000;

export interface ReplayFilter {
  /** Only what was dead-lettered (dead letters) or changed (block changes) at or after this time, epoch ms. */
  readonly since: number | null;
  /** Only this tenant's events. */
  readonly tenantId: string | null;
}

export interface ReplayItem {
  readonly tenantId: string;
  readonly payload: WebhookPayload;
}

/** The endpoint's dead-lettered CloudEvents, each event once, in the order they were dead-lettered per tenant. */
export async function deadLetters(
  log: EventLog,
  endpointId: string,
  filter: ReplayFilter,
): Promise<ReplayItem[]> {
  const items = new Map<string, ReplayItem>();
  let overflow = false;
  await readAll(log, Topics.webhooksDlq, (record) => {
    if (record.headers[WebhookDlqHeaders.endpoint] !== endpointId || record.value === null) return;
    if (filter.since !== null && record.timestamp < filter.since) return;
    if (filter.tenantId !== null && record.key !== filter.tenantId) return;
    const event = JSON.parse(record.value.toString('utf8')) as { id: string; type: string; subject: string };
    if (items.has(event.id)) return;
    overflow ||= items.size === MAX_REPLAY_EVENTS;
    if (overflow) return;
    items.set(event.id, {
      tenantId: event.subject,
      payload: { id: event.id, type: event.type, body: record.value.toString('utf8') },
    });
  });
  return withinLimit([...items.values()], overflow);
}

/** The block changes the endpoint receives that happened (event time) at or after `filter.since`. */
export async function blockChanges(
  log: EventLog,
  codec: SchemaCodec,
  endpoint: WebhookEndpoint,
  filter: ReplayFilter,
): Promise<ReplayItem[]> {
  const items: ReplayItem[] = [];
  let overflow = false;
  const subscriber = new BlockSubscriber({ log, codec, groupId: null });
  const collect = (change: BlockChange) => {
    if (filter.since !== null && change.event.occurredAt < filter.since) return;
    if (filter.tenantId !== null && change.tenantId !== filter.tenantId) return;
    if (!receives(endpoint, change.kind, change.tenantId)) return;
    overflow ||= items.length === MAX_REPLAY_EVENTS;
    if (!overflow) items.push({ tenantId: change.tenantId, payload: cloudEventOf(change) });
  };
  subscriber.on('blocked', collect);
  subscriber.on('unblocked', collect);
  try {
    await subscriber.start();
    await subscriber.ready;
  } finally {
    await subscriber.close();
  }
  return withinLimit(items, overflow);
}

/** Reading goes on to the end (a handler that threw would have its batch read again), then refuses. */
function withinLimit(items: ReplayItem[], overflow: boolean): ReplayItem[] {
  if (overflow) {
    throw new RelayguardError(
      'INVALID_FIELD',
      `from: more than ${MAX_REPLAY_EVENTS} events to replay; narrow the replay with a later time or one tenant`,
      { field: 'from' },
    );
  }
  return items;
}

/** Every record the topic holds now, partition by partition in offset order. */
async function readAll(log: EventLog, topic: string, onRecord: (record: LogRecord) => void): Promise<void> {
  const subscription = await log.subscribe({
    groupId: null,
    topics: [topic],
    handleBatch: async (batch) => {
      for (const record of batch.records) onRecord(record);
    },
  });
  try {
    await subscription.caughtUp;
  } finally {
    await subscription.stop();
  }
}
