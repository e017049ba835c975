// Publishes MessageSubmitted for a relay. A message that finds no send in flight is sent at once, alone: at low
// load each message costs the latency of one write, no timer. Messages that arrive while a send is outstanding
// gather and go together as soon as it is acknowledged (at most `maxBatch` a send), so batches grow with the
// load. One send is in flight at a time, which keeps each tenant's events in order. Each message's promise
// settles when its send is durably written (or fails), so a relay knows what it lost.
import type { MessageSubmitted } from '../core/contracts.generated.js';
import { RelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import { systemClock } from '../platform/clock.js';
import { type Deferred, deferred } from '../platform/deferred.js';
import type { Clock, EventLog, OutgoingRecord, SchemaCodec } from '../platform/ports.js';
import { type SubmittedMessage, toMessageSubmitted } from './message.js';

export interface MessagePublisherOptions {
  /** Where events go: the Kafka adapter in production, the memory adapter in tests. The caller owns it. */
  readonly log: EventLog;
  /** Encodes each event in the Confluent wire format (Schema Registry or embedded codec). */
  readonly codec: SchemaCodec;
  /** Stamps `occurredAt` when a message has none. Default: the system clock. */
  readonly clock?: Clock;
  /** Messages in one publish call at most. */
  readonly maxBatch?: number;
  /** Messages waiting or in flight at most; beyond it publish() fails fast with PUBLISHER_FULL. */
  readonly maxQueued?: number;
}

export type DeliveryCallback = (error: Error | null, event?: MessageSubmitted) => void;

interface Pending {
  readonly event: MessageSubmitted;
  readonly done: Deferred<MessageSubmitted>;
}

export class MessagePublisher {
  readonly #log: EventLog;
  readonly #codec: SchemaCodec;
  readonly #clock: Clock;
  readonly #maxBatch: number;
  readonly #maxQueued: number;
  #queue: Pending[] = [];
  #inFlight = 0;
  #draining = false;
  readonly #flushWaiters: Deferred<void>[] = [];
  #closed = false;

  constructor(options: MessagePublisherOptions) {
    this.#log = options.log;
    this.#codec = options.codec;
    this.#clock = options.clock ?? systemClock;
    this.#maxBatch = atLeast(options.maxBatch ?? 500, 1, 'maxBatch');
    this.#maxQueued = atLeast(options.maxQueued ?? 10_000, this.#maxBatch, 'maxQueued');
  }

  /** Messages accepted by publish() and not yet delivered or failed. */
  get pending(): number {
    return this.#queue.length + this.#inFlight;
  }

  /**
   * Queues one message. The promise resolves with the event once it is durably written, and rejects with the
   * reason when it is not: INVALID_DOMAIN for an unusable address, PUBLISHER_FULL or PUBLISHER_CLOSED at once,
   * an encoding error, or the event log's delivery error (LOG_UNAVAILABLE, retryable).
   */
  publish(message: SubmittedMessage): Promise<MessageSubmitted>;
  /** The same, for callers that prefer a callback; it is called exactly once. */
  publish(message: SubmittedMessage, callback: DeliveryCallback): void;
  publish(message: SubmittedMessage, callback?: DeliveryCallback): Promise<MessageSubmitted> | undefined {
    const delivered = this.#enqueue(message);
    if (!callback) return delivered;
    delivered.then(
      (event) => callback(null, event),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
    return undefined;
  }

  /** Resolves once every message queued so far has been delivered or has failed. */
  async flush(): Promise<void> {
    if (!this.#draining) return;
    const waiter = deferred();
    this.#flushWaiters.push(waiter);
    await waiter.promise;
  }

  /** Refuses new messages and flushes the queued ones. The event log stays open: its owner closes it. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #enqueue(message: SubmittedMessage): Promise<MessageSubmitted> {
    if (this.#closed) {
      return Promise.reject(
        new RelayguardError('PUBLISHER_CLOSED', 'the publisher is closed: create a new one'),
      );
    }
    if (this.pending >= this.#maxQueued) {
      return Promise.reject(
        new RelayguardError(
          'PUBLISHER_FULL',
          `${this.pending} messages are waiting for delivery (maxQueued ${this.#maxQueued}): the event log is slow or down`,
        ),
      );
    }
    let event: MessageSubmitted;
    try {
      event = toMessageSubmitted(message, this.#clock.now());
    } catch (error) {
      return Promise.reject(error);
    }
    const done = deferred<MessageSubmitted>();
    this.#queue.push({ event, done });
    // Nothing in flight: this message goes now. Otherwise it waits for the send in flight, with the others.
    if (!this.#draining) {
      this.#draining = true;
      void this.#drain();
    }
    return done.promise;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight = batch.length;
      await this.#deliver(batch);
      this.#inFlight = 0;
    }
    this.#draining = false;
    for (const waiter of this.#flushWaiters.splice(0)) waiter.resolve();
  }

  /** Never throws: every message's promise carries its own outcome. */
  async #deliver(batch: readonly Pending[]): Promise<void> {
    const encoded = await Promise.allSettled(
      batch.map((pending) => this.#codec.encode(Topics.messageSubmitted, pending.event)),
    );
    const records: OutgoingRecord[] = [];
    const sent: Pending[] = [];
    encoded.forEach((result, i) => {
      const pending = batch[i]!;
      if (result.status === 'rejected') {
        pending.done.reject(result.reason);
        return;
      }
      records.push({ key: pending.event.tenantId, value: result.value });
      sent.push(pending);
    });
    if (records.length === 0) return;
    try {
      await this.#log.publish(Topics.messageSubmitted, records);
      for (const pending of sent) pending.done.resolve(pending.event);
    } catch (error) {
      for (const pending of sent) pending.done.reject(error);
    }
  }
}

function atLeast(value: number, min: number, name: string): number {
  if (!Number.isFinite(value) || value < min) {
    throw new RelayguardError('INVALID_FIELD', `${name}: must be a number >= ${min}, got ${value}`, {
      field: name,
    });
  }
  return value;
}
