// One subscription of the Kafka log: a kafkajs consumer of its own, whole batches in chunks of maxBatchSize with
// a heartbeat between chunks (kafkajs heartbeats only from inside the processing loop), offsets resolved and
// committed only after the handler resolved (autoCommit off), a failed chunk redelivered from its first record
// (with write-behind, from the last commit) after a back-off during which its partition is paused.
import { randomUUID } from 'node:crypto';
import { type Consumer, type EachBatchPayload, type KafkaMessage, PartitionAssigners } from 'kafkajs';
import type { Logger } from '../logger.js';
import { createMutex, type Mutex } from '../mutex.js';
import type { ConsumeOptions, LogRecord, PartitionRef, RecordBatch, Subscription } from '../ports.js';
import { DEFAULT_MAX_BATCH_SIZE } from '../ports.js';
import { checkedStartOffsets } from '../start-offsets.js';
import { partitionKey, WriteBehind } from '../write-behind.js';
import { accessError } from './access-errors.js';
import type { KafkaClient } from './kafka-client.js';
import { resumePositions, SubscriptionProgress } from './offsets.js';
import { stickyPartitionAssigner } from './sticky-assigner.js';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** How often a group subscription that is not caught up asks for the group's committed offsets. */
const COMMITTED_POLL_MS = 1_000;

export interface KafkaSubscriptionSettings {
  /** The log's fetch wait, unless the subscription asks for its own. */
  readonly maxWaitTimeMs: number;
  /** A consumer crashed and kafkajs will not restart it. */
  readonly onFatal?: (error: Error) => void;
  /** The subscription stopped (the log forgets it). */
  readonly onStopped: (subscription: KafkaSubscription) => void;
}

/** The group of its own a group-less reader joins: Read on the prefix `<client id>-reader-` lets it. */
export function readerGroupId(clientId: string): string {
  return `${clientId}-reader-${randomUUID()}`;
}

export class KafkaSubscription implements Subscription {
  readonly progress: SubscriptionProgress;
  readonly #options: ConsumeOptions;
  readonly #client: KafkaClient;
  readonly #consumer: Consumer;
  readonly #logger: Logger;
  readonly #settings: KafkaSubscriptionSettings;
  /** Write-behind (a flush hook): handled ranges wait here until a flush makes their effects durable. */
  readonly #writeBehind: WriteBehind | undefined;
  /**
   * With write-behind or rebalance hooks, batches, flushes and the hooks hold one mutex (the handler's state spans
   * partitions).
   */
  readonly #exclusive: Mutex;
  readonly #maxBatchSize: number;
  #assigned = new Map<string, PartitionRef>();
  /** The member id of the last join (null before the first). */
  #memberId: string | null = null;
  readonly #backoffs = new Map<string, number>();
  readonly #resumeTimers = new Set<NodeJS.Timeout>();
  readonly #timers: NodeJS.Timeout[] = [];
  #stopping = false;

  /** Joins the group (a group-less reader: a group of its own) and starts consuming. */
  static async start(
    client: KafkaClient,
    options: ConsumeOptions,
    settings: KafkaSubscriptionSettings,
  ): Promise<KafkaSubscription> {
    // kafkajs has no manual partition assignment (no assign()): a group-less reader joins a group of its own
    // under a unique id, which gives it every partition. It never commits, so the broker keeps no offsets for
    // it, and it leaves the group on stop. The cost is one group join (and the broker's initial rebalance
    // delay, 3 s by default) per start.
    const groupId = options.groupId ?? readerGroupId(client.config.clientId);
    const commits = options.groupId !== null;
    const bounds = await client.bounds(options.topics);
    const ends = new Map([...bounds].map(([key, { high }]) => [key, high]));
    // A group-less reader resumes from its start offsets, as a group from its commits.
    const committed = commits
      ? await client.committed(groupId, options.topics)
      : checkedStartOffsets(options.startOffsets, ends);
    const progress = new SubscriptionProgress({
      topics: options.topics,
      positions: resumePositions(bounds, committed),
      ends,
      committedByGroup: commits ? () => client.committed(groupId, options.topics) : undefined,
    });
    const subscription = new KafkaSubscription(client, options, settings, groupId, progress);
    await subscription.#run();
    return subscription;
  }

  private constructor(
    client: KafkaClient,
    options: ConsumeOptions,
    settings: KafkaSubscriptionSettings,
    groupId: string,
    progress: SubscriptionProgress,
  ) {
    this.#options = options;
    this.#client = client;
    this.#settings = settings;
    this.progress = progress;
    this.#maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.#logger = client.logger.child({ groupId: options.groupId ?? 'reader', topics: options.topics });
    this.#consumer = client.kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? settings.maxWaitTimeMs,
      sessionTimeout: client.config.sessionTimeoutMs,
      // Three heartbeats per session timeout, as the Kafka consumer does by default.
      heartbeatInterval: Math.min(3_000, Math.floor(client.config.sessionTimeoutMs / 3)),
      // A restart moves only the restarted member's partitions; round robin while members that know only it
      // are in the group (a rolling upgrade).
      partitionAssigners: [
        stickyPartitionAssigner(() => this.#assigned.values()),
        PartitionAssigners.roundRobin,
      ],
    });
    const rebalanceHooks = options.onRevoked ?? options.onAssigned;
    this.#exclusive = options.flush || rebalanceHooks ? createMutex() : (work) => work();
    this.#writeBehind = options.flush
      ? new WriteBehind({
          flush: options.flush,
          commitIntervalMs: options.commitIntervalMs ?? 0,
          redeliverFrom: ({ topic, partition }, offset) =>
            this.#consumer.seek({ topic, partition, offset: offset.toString() }),
          commit: async (ranges) => {
            if (options.groupId === null) return;
            await this.#consumer.commitOffsets(
              ranges.map(({ topic, partition, next }) => ({ topic, partition, offset: next.toString() })),
            );
          },
          onFailure: (error) =>
            this.#logger.warn({ err: error }, 'flush or commit failed; retried at the next commit'),
        })
      : undefined;
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => this.#crashed(payload, groupId));
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => this.#joined(payload));
    // Before a rebalance gives partitions away: what was handled is flushed and committed while still a member.
    if (this.#writeBehind) this.#consumer.on(this.#consumer.events.REBALANCING, () => this.commitNow());
  }

  get caughtUp(): Promise<void> {
    return this.progress.caughtUp;
  }

  /** Write-behind: flush and commit now rather than at the interval (the log's settled()). */
  commitNow(): void {
    if (this.#writeBehind) void this.#exclusive(() => this.#commit());
  }

  /** Finishes the chunk in hand, flushes, commits, leaves the group. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const timer of this.#resumeTimers) clearTimeout(timer);
    // Write-behind: flushed and committed while still a member (the chunk in hand finishes first).
    await this.#exclusive(() => this.#commit());
    // Waits for the chunk in hand (handled and committed), then leaves the group.
    await this.#consumer.disconnect();
    this.#settings.onStopped(this);
  }

  async #run(): Promise<void> {
    const writeBehind = this.#writeBehind;
    if (writeBehind) {
      const interval = this.#options.commitIntervalMs ?? 0;
      const timer = setInterval(
        () => {
          if (writeBehind.pending && writeBehind.msUntilInterval <= 0) this.commitNow();
        },
        Math.max(10, Math.min(interval, 250)),
      );
      this.#timers.push(timer);
    }
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.#options.topics], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    await this.progress.check();
    // Partitions owned by other members of the group advance only in the group's committed offsets.
    if (this.#options.groupId !== null && !this.progress.isCaughtUp) {
      const poller = setInterval(() => {
        if (this.progress.isCaughtUp) clearInterval(poller);
        else
          this.progress
            .check()
            .catch((error) => this.#logger.debug({ err: error }, 'caught-up check failed'));
      }, COMMITTED_POLL_MS);
      this.#timers.push(poller);
    }
  }

  #crashed(payload: { error: Error; restart: boolean }, groupId: string): void {
    if (this.#stopping) return;
    if (payload.restart) {
      this.#logger.warn({ err: payload.error }, 'kafka consumer crashed; kafkajs restarts it');
      return;
    }
    const refused = accessError(payload.error, this.#client.config, {
      topics: this.#options.topics,
      group: groupId,
    });
    this.#logger.fatal({ err: refused ?? payload.error }, 'kafka consumer crashed and will not restart');
    this.#settings.onFatal?.(refused ?? payload.error);
  }

  /**
   * A rebalance's outcome: the partitions this member lost are stale for the handler from now on, those it gained
   * are announced (after the revocation: a partition lost and given back is released, then loaded). A member that
   * joins under a new member id was expelled (its session expired: a frozen process, a long pause) and may have
   * missed generations in which others owned its partitions: it lost all of them, even those it gets back, and what
   * it handled before is forgotten at once, before a commit queued meanwhile could send it under the new membership.
   */
  #joined(payload: { memberId: string; memberAssignment: Record<string, number[]> }): void {
    const now = new Map(
      Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => [partitionKey(topic, partition), { topic, partition }] as const),
      ),
    );
    if (this.#options.groupId === null) this.#resumeOwnPositions(now.values());
    const expelled = this.#memberId !== null && this.#memberId !== payload.memberId;
    this.#memberId = payload.memberId;
    if (expelled) this.#writeBehind?.forget([...this.#assigned.values()]);
    const revoked = [...this.#assigned].filter(([key]) => expelled || !now.has(key)).map(([, ref]) => ref);
    const added = [...now].filter(([key]) => expelled || !this.#assigned.has(key)).map(([, ref]) => ref);
    this.#assigned = now;
    if (revoked.length === 0 && added.length === 0) return;
    void this.#exclusive(async () => {
      if (revoked.length > 0) {
        this.#writeBehind?.forget(revoked);
        await this.#options.onRevoked?.(revoked);
      }
      if (added.length > 0) this.#options.onAssigned?.(added);
    }).catch((error: unknown) => this.#logger.warn({ err: error }, 'handling a new assignment failed'));
  }

  /**
   * kafkajs forgets the offsets it resolved whenever the member joins its group again (a session timeout under
   * load, a coordinator move), and a group-less reader commits none: each rejoin would hand it its topics again
   * from the beginning. It goes on from its own positions instead.
   */
  #resumeOwnPositions(partitions: Iterable<PartitionRef>): void {
    for (const { topic, partition } of partitions) {
      const position = this.progress.position(partitionKey(topic, partition));
      if (position !== undefined) this.#consumer.seek({ topic, partition, offset: position.toString() });
    }
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale, heartbeat } = payload;
    for (let from = 0; from < batch.messages.length; from += this.#maxBatchSize) {
      // Stopping: the chunk in hand was finished and committed; the rest is left for the next owner.
      if (!isRunning() || isStale()) return;
      if (!(await this.#exclusive(() => this.#handleChunk(payload, from)))) return;
      await heartbeat();
    }
  }

  /** Handles one chunk; false when the rest of the batch is not to be handled (failed, stale, stopping). */
  async #handleChunk(payload: EachBatchPayload, from: number): Promise<boolean> {
    const { batch, isRunning, isStale } = payload;
    if (this.#stopping || !isRunning() || isStale()) return false;
    const { topic, partition, messages } = batch;
    const key = partitionKey(topic, partition);
    const chunk = messages.slice(from, from + this.#maxBatchSize);
    const first = BigInt(chunk[0]!.offset);
    const last = chunk.at(-1)!.offset;
    const recordBatch: RecordBatch = {
      topic,
      partition,
      records: chunk.map((message) => toLogRecord(partition, message)),
      lag: Number(batch.offsetLag()) + (messages.length - from - chunk.length),
    };
    try {
      await this.#options.handleBatch(recordBatch);
    } catch (error) {
      this.#options.onBatchError?.(error, recordBatch);
      this.#redeliver(payload, this.#writeBehind?.failed(recordBatch, first) ?? first);
      return false;
    }
    this.#backoffs.delete(key);
    const next = BigInt(last) + 1n;
    payload.resolveOffset(last);
    if (this.#writeBehind) {
      this.#writeBehind.handled(recordBatch, first, next, recordBatch.lag === 0);
      if (this.#writeBehind.due) await this.#commit();
      return true;
    }
    if (this.#options.groupId !== null) {
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: next.toString() }] }],
      });
    }
    this.progress.advance(key, next);
    await this.progress.check();
    return true;
  }

  /** Fetches the partition again from `offset`, after a back-off during which it is paused (the others go on). */
  #redeliver(payload: EachBatchPayload, offset: bigint): void {
    const { topic, partition } = payload.batch;
    const key = partitionKey(topic, partition);
    const delay = Math.min(MAX_BACKOFF_MS, this.#backoffs.get(key) ?? FIRST_BACKOFF_MS);
    this.#backoffs.set(key, delay * 2);
    this.#consumer.seek({ topic, partition, offset: offset.toString() });
    const resume = payload.pause();
    const timer = setTimeout(() => {
      this.#resumeTimers.delete(timer);
      resume();
    }, delay);
    this.#resumeTimers.add(timer);
  }

  /** Write-behind: flushes, then commits what was handled before; a failure commits nothing (retried). */
  async #commit(): Promise<void> {
    const committed = await this.#writeBehind?.commit();
    if (!committed?.length) return;
    for (const { topic, partition, next } of committed)
      this.progress.advance(partitionKey(topic, partition), next);
    await this.progress.check();
  }
}

/** A kafkajs message as the port's record (the range reader shares it). */
export function toLogRecord(partition: number, message: KafkaMessage): LogRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    // A header repeated in one record keeps its last value: the port has one value per name.
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) headers[name] = last.toString();
  }
  return {
    key: message.key === null ? null : message.key.toString(),
    value: message.value,
    headers,
    partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
  };
}
