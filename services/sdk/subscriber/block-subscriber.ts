// Follows relayguard.tenant-blocks.v1 for a downstream service (billing, notifications, trust & safety): reads
// the compacted topic from its beginning into a view of every tenant's current block, reports `ready` once it
// has caught up with what the topic held when it started, then follows. Handlers and iterators receive each
// change (a new block with its evidence, a lifted block) once per subscriber, at least once: a handler that
// throws gets the same change again after a back-off, so it must be idempotent (the block id is the key).
import type { TenantBlockEvent } from '../../core/contracts.generated.js';
import { isRelayguardError, type RelayguardError } from '../../core/errors.js';
import { Topics } from '../../core/topics.js';
import type { EventLog, LogRecord, RecordBatch, SchemaCodec, Subscription } from '../../platform/ports.js';
import {
  type BlockChange,
  type BlockedChange,
  BlockView,
  type CurrentBlock,
  type UnblockedChange,
} from './block-view.js';
import { ChangeQueue } from './change-queue.js';

export interface BlockSubscriberOptions {
  /** The event log: the Kafka adapter (see connectBlockSubscriber) or the memory adapter in tests. */
  readonly log: EventLog;
  /** Decodes with the SDK's own (reader) schema, whatever newer compatible schema the producer wrote with. */
  readonly codec: SchemaCodec;
  /**
   * Null (the default): this subscriber reads every partition from the beginning and commits nothing, so its view
   * holds every tenant. A group id: the group's members share the partitions, each change reaches one member, and
   * a restarted member resumes at the group's committed offsets; each member's view then holds only what it
   * consumed (its partitions, since the group's commits). Use a group for work that must happen once per change.
   */
  readonly groupId?: string | null;
  /** The topic's name, for a deployment that mirrors it under another; relayguard.tenant-blocks.v1 by default. */
  readonly topic?: string;
  /** Changes an async iterator buffers before the subscription waits for its reader. */
  readonly iteratorBuffer?: number;
  /** A record that does not decode (skipped), or a handler that threw (retried): for the caller's logs and metrics. */
  readonly onError?: (error: unknown, where: { partition: number; offset: string }) => void;
  /** Closed by close() too: a log the subscriber was given is left to its owner unless this is set. */
  readonly ownsLog?: boolean;
}

type Handler<C> = (change: C) => void | Promise<void>;

interface ChangeKinds {
  blocked: BlockedChange;
  unblocked: UnblockedChange;
}

const partitionKey = (partition: number) => String(partition);

export class BlockSubscriber implements AsyncIterable<BlockChange> {
  readonly #log: EventLog;
  readonly #codec: SchemaCodec;
  readonly #options: BlockSubscriberOptions;
  readonly #view: BlockView;
  readonly #handlers: { [K in keyof ChangeKinds]: Set<Handler<ChangeKinds[K]>> } = {
    blocked: new Set(),
    unblocked: new Set(),
  };
  readonly #queues = new Set<ChangeQueue<BlockChange>>();
  /** Per partition, the offset after the last record applied: a redelivery or a resubscription skips below it. */
  readonly #applied = new Map<string, bigint>();
  #subscription: Subscription | undefined;
  #ready = false;
  #closed = false;
  readonly ready: Promise<void>;
  #resolveReady!: () => void;

  constructor(options: BlockSubscriberOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#codec = options.codec;
    this.#view = new BlockView({ partial: (options.groupId ?? null) !== null });
    this.ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }

  /** True once the view holds everything the topic held when the subscriber started. */
  get isReady(): boolean {
    return this.#ready;
  }

  /** Whether relays reject the tenant's unregistered senders now (an ENFORCE block; MONITOR is never enforced). */
  isBlocked(tenantId: string): boolean {
    return this.#view.isBlocked(tenantId);
  }

  /** The tenant's current block (enforce or monitor mode) with its evidence; undefined when none. */
  block(tenantId: string): CurrentBlock | undefined {
    return this.#view.block(tenantId);
  }

  /** Every current block. */
  blocks(): IterableIterator<CurrentBlock> {
    return this.#view.blocks();
  }

  /**
   * Calls the handler with each change of this kind, in topic order per tenant; the subscription waits for it
   * (a slow handler slows the subscription). Returns a function that removes it.
   */
  on<K extends keyof ChangeKinds>(kind: K, handler: Handler<ChangeKinds[K]>): () => void {
    const handlers = this.#handlers[kind] as Set<Handler<ChangeKinds[K]>>;
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  /** Every change from now on (register before start() to see the history too); ends when the subscriber closes. */
  changes(): AsyncIterableIterator<BlockChange> {
    const queue: ChangeQueue<BlockChange> = new ChangeQueue(this.#options.iteratorBuffer ?? 1_000, () =>
      this.#queues.delete(queue),
    );
    if (this.#closed) queue.end();
    else this.#queues.add(queue);
    return queue;
  }

  [Symbol.asyncIterator](): AsyncIterator<BlockChange> {
    return this.changes();
  }

  /** Subscribes; resolves once subscribed (`ready` says when it has caught up). */
  async start(): Promise<this> {
    if (this.#closed) throw new Error('BlockSubscriber: closed');
    if (this.#subscription) return this;
    await this.#subscribe();
    return this;
  }

  /**
   * Subscribes again after the log gave up on the subscription (a consumer kafkajs will not restart): the view
   * is kept, and records already applied are skipped, so no change is reported twice.
   */
  async reconnect(): Promise<void> {
    if (this.#closed) return;
    const previous = this.#subscription;
    this.#subscription = undefined;
    await previous?.stop().catch(() => undefined);
    if (!this.#closed) await this.#subscribe();
  }

  /** Stops after the batch in hand, ends the iterators, and closes the log when the subscriber owns it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    try {
      await subscription?.stop();
    } finally {
      for (const queue of this.#queues) queue.end();
      this.#queues.clear();
      if (this.#options.ownsLog) await this.#log.close();
    }
  }

  async #subscribe(): Promise<void> {
    const subscription = await this.#log.subscribe({
      groupId: this.#options.groupId ?? null,
      topics: [this.#options.topic ?? Topics.tenantBlocks],
      handleBatch: (batch) => this.#handleBatch(batch),
      onBatchError: (error, batch) =>
        this.#options.onError?.(error, {
          partition: batch.partition,
          offset: batch.records[0]?.offset ?? '',
        }),
    });
    this.#subscription = subscription;
    void subscription.caughtUp.then(() => {
      if (this.#subscription !== subscription) return;
      this.#ready = true;
      this.#resolveReady();
    });
  }

  async #handleBatch(batch: RecordBatch): Promise<void> {
    const key = partitionKey(batch.partition);
    const fresh = batch.records.filter((record) => BigInt(record.offset) >= (this.#applied.get(key) ?? 0n));
    // Compaction tombstones carry no event: relayguard never deletes a tenant's block state with one.
    const values = fresh.filter((record) => record.value !== null);
    const decoded = await this.#codec.decodeAll(
      Topics.tenantBlocks,
      values.map((record) => record.value!),
    );
    for (const [i, record] of values.entries()) {
      const event = decoded[i]!;
      if (isRelayguardError(event)) this.#options.onError?.(event as RelayguardError, where(record));
      else await this.#applyEvent(event, record);
      this.#applied.set(key, BigInt(record.offset) + 1n);
    }
    const last = fresh.at(-1);
    if (last) this.#applied.set(key, BigInt(last.offset) + 1n);
  }

  /** Handlers first, then the view: a handler that throws leaves the change to be delivered again. */
  async #applyEvent(event: TenantBlockEvent, record: LogRecord): Promise<void> {
    const transition = this.#view.transition(event);
    if (transition === null) {
      this.#view.apply(event, null);
      return;
    }
    const base = { tenantId: event.tenantId, event, position: where(record), replayed: !this.#ready };
    const change: BlockChange =
      transition.kind === 'blocked'
        ? { ...base, kind: 'blocked', block: transition.block }
        : { ...base, kind: 'unblocked', unblock: transition.unblock, lifted: transition.lifted };
    const handlers = this.#handlers[change.kind] as Set<Handler<BlockChange>>;
    for (const handler of handlers) await handler(change);
    for (const queue of this.#queues) await queue.push(change);
    this.#view.apply(event, transition);
  }
}

function where(record: LogRecord): { partition: number; offset: string } {
  return { partition: record.partition, offset: record.offset };
}
