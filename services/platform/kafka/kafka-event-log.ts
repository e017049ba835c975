// The EventLog port on Kafka (kafkajs). Producer: acks=all, idempotent unless configured off, one request in
// flight so a tenant's events keep their order. Consumers: one kafkajs consumer per subscription, whole
// batches in chunks of maxBatchSize with a heartbeat between chunks (kafkajs heartbeats only from inside the
// processing loop), offsets resolved and committed only after the handler resolved (autoCommit off), a failed
// chunk redelivered from its first record after a back-off during which its partition is paused.
import { randomUUID } from 'node:crypto';
import {
  type Admin,
  type EachBatchPayload,
  Kafka,
  type KafkaMessage,
  type logCreator,
  logLevel,
  type Message,
  PartitionAssigners,
  Partitioners,
  type Producer,
  type RecordMetadata,
  type SASLOptions,
} from 'kafkajs';
import { RelayguardError } from '../../core/errors.js';
import type { KafkaConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type {
  ConsumeOptions,
  EventLog,
  LogRecord,
  OutgoingRecord,
  PartitionRef,
  RecordBatch,
  Subscription,
} from '../ports.js';
import { DEFAULT_MAX_BATCH_SIZE } from '../ports.js';
import { type Turns, takingTurns } from '../turns.js';
import { accessError, type KafkaResources } from './access-errors.js';
import { dropKafkajsTimerWarnings } from './kafkajs-timer-warning.js';
import { retryingRetriable } from './retriable.js';
import { stickyPartitionAssigner } from './sticky-assigner.js';

const FIRST_BACKOFF_MS = 100;
/** Sends of the records kafkajs acknowledged without sending, before the publish fails (retryable). */
const MAX_SKIPPED_RESENDS = 5;
const MAX_BACKOFF_MS = 5_000;
const POLL_MS = 20;
/** How often a group subscription that is not caught up asks for the group's committed offsets. */
const COMMITTED_POLL_MS = 1_000;

export interface KafkaEventLogOptions {
  readonly kafka: KafkaConfig;
  readonly logger: Logger;
  /**
   * A consumer crashed and kafkajs will not restart it (a non-retriable error): the process must end so that
   * its supervisor restarts it. Without this the subscription would silently stop consuming.
   */
  readonly onFatal?: (error: Error) => void;
  /**
   * How long the broker may hold a fetch that has nothing to return. Records that arrive end the wait at once,
   * so this bounds only idle polling and how long stop() waits for the fetch in flight.
   */
  readonly maxWaitTimeMs?: number;
  /** Partitions whose batches one subscription handles at the same time (each partition stays in order). */
  readonly partitionsConsumedConcurrently?: number;
}

/** kafkajs logs through pino, at the level of the relayguard logger. */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      const context = { component: 'kafkajs', namespace, ...fields };
      if (level === logLevel.ERROR) logger.error(context, message);
      else if (level === logLevel.WARN) logger.warn(context, message);
      else if (level === logLevel.INFO) logger.info(context, message);
      else logger.debug(context, message);
    };
}

function kafkaLogLevel(level: string): logLevel {
  switch (level) {
    case 'silent':
      return logLevel.NOTHING;
    case 'fatal':
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'info':
      return logLevel.INFO;
    default:
      return logLevel.DEBUG;
  }
}

/** A kafkajs client with relayguard's connection settings (TLS, SASL, logging); the topics command uses it too. */
export function createKafka(config: KafkaConfig, logger: Logger): Kafka {
  dropKafkajsTimerWarnings();
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: config.ssl,
    sasl: config.sasl ? ({ ...config.sasl } as SASLOptions) : undefined,
    logLevel: kafkaLogLevel(logger.level),
    logCreator: kafkaLogCreator(logger),
  });
}

/** Kafka offsets are int64; kept as bigint here, as decimal strings across the port. */
type Offsets = Map<string, bigint>;

const compareOffsets = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

const partitionKey = (topic: string, partition: number) => `${topic}:${partition}`;

interface ActiveSubscription {
  readonly groupId: string;
  /** False for a group-less reader: it commits nothing, so only its own positions tell its progress. */
  readonly commits: boolean;
  readonly topics: readonly string[];
  /**
   * Per topic:partition, the next offset to hand to the handler as far as this process knows; with write-behind
   * (a flush hook), the next offset committed.
   */
  readonly positions: Offsets;
  /** Write-behind: flush and commit now rather than at the interval (settled()). */
  readonly commitNow?: () => void;
}

/** A handled range of a partition not committed yet (write-behind). */
interface Uncommitted {
  readonly topic: string;
  readonly partition: number;
  /** Where a redelivery starts: the first offset handled since the last commit. */
  readonly from: bigint;
  /** The offset to commit: after the last one handled. */
  next: bigint;
  /** The last chunk handled left the partition at its end (as fetched). */
  caughtUp: boolean;
}

export class KafkaEventLog implements EventLog {
  readonly #kafka: Kafka;
  readonly #config: KafkaConfig;
  readonly #logger: Logger;
  readonly #options: KafkaEventLogOptions;
  readonly #subscriptions = new Map<ActiveSubscription, Subscription>();
  #producer: Promise<Producer> | undefined;
  #admin: Promise<Admin> | undefined;
  /** Where the partitioner placed each message being sent (see #skipped). */
  readonly #partitionOf = new WeakMap<Message, number>();

  constructor(options: KafkaEventLogOptions) {
    this.#options = options;
    this.#config = options.kafka;
    this.#logger = options.logger;
    this.#kafka = createKafka(options.kafka, options.logger);
  }

  async publish(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const producer = await this.#connectedProducer();
      let messages: Message[] = records.map((record) => ({
        key: record.key,
        value: record.value,
        headers: record.headers ? { ...record.headers } : undefined,
      }));
      for (let attempt = 1; ; attempt++) {
        const written = await producer.send({ topic, acks: -1, messages });
        messages = this.#skipped(messages, written);
        if (messages.length === 0) return;
        if (attempt === MAX_SKIPPED_RESENDS)
          throw new Error(`${messages.length} records were still not sent after ${attempt} attempts`);
        this.#logger.warn(
          { topic, records: messages.length, attempt },
          'kafkajs acknowledged a send without sending to a partition whose leader moved; sending those records again',
        );
      }
    } catch (error) {
      const refused = accessError(error, this.#config, { topics: [topic] });
      if (refused) throw refused;
      throw new RelayguardError(
        'LOG_UNAVAILABLE',
        `kafka: publishing ${records.length} records to ${topic} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /**
   * The messages of a send whose partition is not among those the brokers acknowledged. kafkajs 2.2.4 keeps the
   * replies of the brokers that answered across its retries: when a partition's leader moves to one of them, its
   * records are never sent, yet the send resolves (tulios/kafkajs#1303, #1798). The partitioner tells where each
   * message was meant to go.
   */
  #skipped(messages: readonly Message[], written: readonly RecordMetadata[]): Message[] {
    const acknowledged = new Set(written.map((metadata) => metadata.partition));
    return messages.filter((message) => {
      const partition = this.#partitionOf.get(message);
      if (partition === undefined) throw new Error('kafkajs sent a message its partitioner never saw');
      return !acknowledged.has(partition);
    });
  }

  #connectedProducer(): Promise<Producer> {
    this.#producer ??= (async () => {
      // Without idempotence (KIP-98) a retry after a lost acknowledgement writes the record again at a new
      // offset, which only the scorer's event fingerprints recognize. It is off only against brokers whose
      // metadata names no controller (librdkafka's mock cluster, see README).
      const producer = this.#kafka.producer({
        idempotent: this.#config.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2: the same key lands in the same partition whichever client produced it.
        createPartitioner: () => {
          const partitioner = Partitioners.DefaultPartitioner();
          return (args) => {
            const partition = partitioner(args);
            this.#partitionOf.set(args.message, partition);
            return partition;
          };
        },
      });
      await producer.connect();
      return producer;
    })();
    this.#producer.catch(() => {
      this.#producer = undefined;
    });
    return this.#producer;
  }

  #connectedAdmin(): Promise<Admin> {
    this.#admin ??= (async () => {
      const admin = this.#kafka.admin();
      await admin.connect();
      return admin;
    })();
    this.#admin.catch(() => {
      this.#admin = undefined;
    });
    return this.#admin;
  }

  /** An offsets read, retried on a live cluster's passing answers (retriable.ts) with fresh metadata. */
  #readOffsets<T>(resources: KafkaResources, read: (admin: Admin) => Promise<T>): Promise<T> {
    return retryingRetriable(
      async () => read(await this.#connectedAdmin()),
      async (error, attempt) => {
        this.#logger.debug({ err: error, attempt }, 'kafka: offsets read failed, retrying');
        const admin = await this.#connectedAdmin();
        await admin.fetchTopicMetadata({ topics: [...(resources.topics ?? [])] }).catch(() => undefined);
      },
    ).catch((error: unknown) => {
      // The first call of a service at startup: a refused login or ACL stops it with the setting to fix.
      throw accessError(error, this.#config, resources) ?? error;
    });
  }

  /** The log start (low) and end (high: the next offset to be written) of every partition of the topics. */
  async #offsetRange(topics: readonly string[]): Promise<Map<string, { low: bigint; high: bigint }>> {
    const ranges = new Map<string, { low: bigint; high: bigint }>();
    for (const topic of topics) {
      const offsets = await this.#readOffsets({ topics: [topic] }, (admin) => admin.fetchTopicOffsets(topic));
      for (const { partition, low, high } of offsets) {
        ranges.set(partitionKey(topic, partition), { low: BigInt(low), high: BigInt(high) });
      }
    }
    return ranges;
  }

  async #committed(groupId: string, topics: readonly string[]): Promise<Offsets> {
    const committed: Offsets = new Map();
    const offsets = await this.#readOffsets({ topics, group: groupId }, (admin) =>
      admin.fetchOffsets({ groupId, topics: [...topics] }),
    );
    for (const { topic, partitions } of offsets) {
      for (const { partition, offset } of partitions) {
        if (BigInt(offset) >= 0n) committed.set(partitionKey(topic, partition), BigInt(offset));
      }
    }
    return committed;
  }

  /**
   * Whether the subscription has handled every record below `ends`. A group's committed offsets count too:
   * another member (another process) may own some of the partitions.
   */
  async #reached(subscription: ActiveSubscription, ends: Offsets): Promise<boolean> {
    const behind = [...ends].filter(([key, end]) => (subscription.positions.get(key) ?? 0n) < end);
    if (behind.length === 0) return true;
    if (!subscription.commits) return false;
    const committed = await this.#committed(subscription.groupId, subscription.topics);
    return behind.every(([key, end]) => (committed.get(key) ?? 0n) >= end);
  }

  async subscribe(options: ConsumeOptions): Promise<Subscription> {
    const commits = options.groupId !== null;
    // kafkajs has no manual partition assignment (no assign()): a group-less reader joins a group of its own
    // under a unique id, which gives it every partition. It never commits, so the broker keeps no offsets for
    // it, and it leaves the group on stop. The cost is one group join (and the broker's initial rebalance
    // delay, 3 s by default) per start.
    const groupId = options.groupId ?? `${this.#config.clientId}-reader-${randomUUID()}`;
    const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    const logger = this.#logger.child({ groupId: options.groupId ?? 'reader', topics: options.topics });

    const ranges = await this.#offsetRange(options.topics);
    const committed = commits ? await this.#committed(groupId, options.topics) : new Map<string, bigint>();
    const ends: Offsets = new Map([...ranges].map(([key, { high }]) => [key, high]));
    const { flush } = options;
    const commitIntervalMs = options.commitIntervalMs ?? 0;
    // Write-behind: handled ranges wait here until a flush makes their effects durable; batches, flushes and
    // revocations then take turns (the handler's state is shared across partitions).
    const uncommitted = new Map<string, Uncommitted>();
    let lastCommit = performance.now();
    const turns = takingTurns();
    const inTurn: Turns = (work) => (flush ? turns(work) : work());
    const subscription: ActiveSubscription = {
      groupId,
      commits,
      topics: options.topics,
      commitNow: flush ? () => void inTurn(() => commitUncommitted()) : undefined,
      positions: new Map(
        // A committed offset below the log start (records deleted by retention) resumes at the log start.
        [...ranges].map(([key, { low }]) => [key, [committed.get(key) ?? low, low].sort(compareOffsets)[1]!]),
      ),
    };

    let caughtUpResolve!: () => void;
    const caughtUp = new Promise<void>((resolve) => {
      caughtUpResolve = resolve;
    });
    let isCaughtUp = false;
    const checkCaughtUp = async () => {
      if (!isCaughtUp && (await this.#reached(subscription, ends))) {
        isCaughtUp = true;
        caughtUpResolve();
      }
    };

    const consumer = this.#kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? this.#options.maxWaitTimeMs ?? 1_000,
      sessionTimeout: this.#config.sessionTimeoutMs,
      // Three heartbeats per session timeout, as the Kafka consumer does by default.
      heartbeatInterval: Math.min(3_000, Math.floor(this.#config.sessionTimeoutMs / 3)),
      // A restart moves only the restarted member's partitions; round robin while members that know only it
      // are in the group (a rolling upgrade).
      partitionAssigners: [stickyPartitionAssigner(() => assigned.values()), PartitionAssigners.roundRobin],
    });
    let stopping = false;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (stopping) return;
      if (payload.restart) {
        logger.warn({ err: payload.error }, 'kafka consumer crashed; kafkajs restarts it');
      } else {
        const refused = accessError(payload.error, this.#config, { topics: options.topics, group: groupId });
        logger.fatal({ err: refused ?? payload.error }, 'kafka consumer crashed and will not restart');
        this.#options.onFatal?.(refused ?? payload.error);
      }
    });

    /** Flushes, then commits what was handled before; a failure commits nothing and the next attempt retries. */
    const commitUncommitted = async (): Promise<void> => {
      if (!flush || uncommitted.size === 0) return;
      lastCommit = performance.now();
      const ranges = [...uncommitted];
      let committing = ranges;
      try {
        const { redeliver } = await flush();
        const lost = new Set(redeliver.map(({ topic, partition }) => partitionKey(topic, partition)));
        for (const key of lost) {
          const range = uncommitted.get(key);
          if (!range) continue;
          uncommitted.delete(key);
          consumer.seek({ topic: range.topic, partition: range.partition, offset: range.from.toString() });
        }
        committing = ranges.filter(([key]) => !lost.has(key));
        if (commits && committing.length > 0) {
          await consumer.commitOffsets(
            committing.map(([, { topic, partition, next }]) => ({
              topic,
              partition,
              offset: next.toString(),
            })),
          );
        }
      } catch (error) {
        logger.warn({ err: error }, 'flush or commit failed; retried at the next commit');
        return;
      }
      for (const [key, range] of committing) {
        uncommitted.delete(key);
        subscription.positions.set(key, range.next);
      }
      await checkCaughtUp();
    };
    const commitTimer = flush
      ? setInterval(
          () => {
            if (uncommitted.size > 0 && performance.now() - lastCommit >= commitIntervalMs)
              void inTurn(() => commitUncommitted());
          },
          Math.max(10, Math.min(commitIntervalMs, 250)),
        )
      : undefined;
    if (flush) {
      // Before a rebalance gives partitions away: what was handled is flushed and committed while still a member.
      consumer.on(consumer.events.REBALANCING, () => void inTurn(() => commitUncommitted()));
    }
    let assigned = new Map<string, PartitionRef>();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const now = new Map(
        Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
          partitions.map((partition) => [partitionKey(topic, partition), { topic, partition }] as const),
        ),
      );
      const revoked = [...assigned].filter(([key]) => !now.has(key));
      assigned = now;
      if (revoked.length === 0) return;
      void inTurn(async () => {
        for (const [key] of revoked) uncommitted.delete(key);
        await options.onRevoked?.(revoked.map(([, ref]) => ref));
      }).catch((error: unknown) => logger.warn({ err: error }, 'handling revoked partitions failed'));
    });

    const backoffs = new Map<string, number>();
    const resumeTimers = new Set<NodeJS.Timeout>();
    const eachBatch = async ({
      batch,
      heartbeat,
      resolveOffset,
      commitOffsetsIfNecessary,
      pause,
      isRunning,
      isStale,
    }: EachBatchPayload) => {
      const { topic, partition, messages } = batch;
      const key = partitionKey(topic, partition);
      for (let from = 0; from < messages.length; from += maxBatchSize) {
        // Stopping: the chunk in hand was finished and committed; the rest is left for the next owner.
        if (!isRunning() || isStale()) return;
        if (!(await inTurn(() => handleChunk(from)))) return;
        await heartbeat();
      }

      /** Handles one chunk; false when the rest of the batch is not to be handled (failed, stale, stopping). */
      async function handleChunk(from: number): Promise<boolean> {
        if (stopping || !isRunning() || isStale()) return false;
        const chunk = messages.slice(from, from + maxBatchSize);
        const first = chunk[0]!;
        const last = chunk.at(-1)!;
        const records = chunk.map((message) => toLogRecord(partition, message));
        const recordBatch: RecordBatch = {
          topic,
          partition,
          records,
          lag: Number(batch.offsetLag()) + (messages.length - from - chunk.length),
        };
        try {
          await options.handleBatch(recordBatch);
        } catch (error) {
          options.onBatchError?.(error, recordBatch);
          // Nothing from the last commit on is committed: fetch it again from there (this chunk's first record
          // without write-behind), after a back-off during which the partition is paused (the others go on).
          const delay = Math.min(MAX_BACKOFF_MS, backoffs.get(key) ?? FIRST_BACKOFF_MS);
          backoffs.set(key, delay * 2);
          const redeliverFrom = uncommitted.get(key)?.from.toString() ?? first.offset;
          uncommitted.delete(key);
          consumer.seek({ topic, partition, offset: redeliverFrom });
          const resume = pause();
          const timer = setTimeout(() => {
            resumeTimers.delete(timer);
            resume();
          }, delay);
          resumeTimers.add(timer);
          return false;
        }
        backoffs.delete(key);
        const next = BigInt(last.offset) + 1n;
        resolveOffset(last.offset);
        if (flush) {
          const range = uncommitted.get(key);
          if (range) {
            range.next = next;
            range.caughtUp = recordBatch.lag === 0;
          } else {
            uncommitted.set(key, {
              topic,
              partition,
              from: BigInt(first.offset),
              next,
              caughtUp: recordBatch.lag === 0,
            });
          }
          // At the interval, or at once when every partition handled since the last commit reached its end: a
          // backlog is flushed at the interval, a scorer keeping up makes its work durable without waiting.
          const allCaughtUp = [...uncommitted.values()].every((r) => r.caughtUp);
          if (allCaughtUp || performance.now() - lastCommit >= commitIntervalMs) await commitUncommitted();
          return true;
        }
        if (commits) {
          await commitOffsetsIfNecessary({
            topics: [{ topic, partitions: [{ partition, offset: next.toString() }] }],
          });
        }
        subscription.positions.set(key, next);
        await checkCaughtUp();
        return true;
      }
    };

    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently ?? 1,
      eachBatch,
    });
    await checkCaughtUp();
    // Partitions owned by other members of the group advance only in the group's committed offsets.
    const poller = commits
      ? setInterval(() => {
          if (isCaughtUp) clearInterval(poller);
          else checkCaughtUp().catch((error) => logger.debug({ err: error }, 'caught-up check failed'));
        }, COMMITTED_POLL_MS)
      : undefined;

    const handle: Subscription = {
      caughtUp,
      stop: async () => {
        if (stopping) return;
        stopping = true;
        clearInterval(poller);
        clearInterval(commitTimer);
        for (const timer of resumeTimers) clearTimeout(timer);
        // Write-behind: flushed and committed while still a member (the chunk in hand finishes first).
        await inTurn(() => commitUncommitted());
        // Waits for the chunk in hand (handled and committed), then leaves the group.
        await consumer.disconnect();
        this.#subscriptions.delete(subscription);
      },
    };
    this.#subscriptions.set(subscription, handle);
    return handle;
  }

  /**
   * Resolves when every subscription of this client has handled every record that its topics held, including
   * records published by handlers meanwhile (tests and tools: the driver's settle()).
   */
  async settled(): Promise<void> {
    for (;;) {
      const subscriptions = [...this.#subscriptions.keys()];
      const topics = [...new Set(subscriptions.flatMap((subscription) => subscription.topics))];
      const ends = await this.#ends(topics);
      for (const subscription of subscriptions) {
        const own = new Map(
          [...ends].filter(([key]) => subscription.topics.some((t) => key.startsWith(`${t}:`))),
        );
        while (this.#subscriptions.has(subscription) && !(await this.#reached(subscription, own))) {
          subscription.commitNow?.();
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      }
      const again = await this.#ends(topics);
      if ([...again].every(([key, end]) => ends.get(key) === end)) return;
    }
  }

  async #ends(topics: readonly string[]): Promise<Offsets> {
    return new Map([...(await this.#offsetRange(topics))].map(([key, { high }]) => [key, high]));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions.values()].map((subscription) => subscription.stop()));
    const producer = this.#producer;
    const admin = this.#admin;
    this.#producer = undefined;
    this.#admin = undefined;
    await Promise.all([
      producer?.then((p) => p.disconnect()).catch(() => undefined),
      admin?.then((a) => a.disconnect()).catch(() => undefined),
    ]);
  }
}

function toLogRecord(partition: number, message: KafkaMessage): LogRecord {
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
