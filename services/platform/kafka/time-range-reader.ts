// Reads a topic's partitions from the first record the broker stamped at or after a time to the end offsets they
// had when the read began (rebuild-windows needs the window and grace, not the whole retention): the start offsets
// come from ListOffsets by timestamp (KIP-79), each partition is read once up to its end, and its completion is
// reported so that the caller can finish that partition's work before the others end.
//
// kafkajs has no manual assignment: the reader joins a group of its own and seeks its partitions on every join
// (kafkajs resolves a rejoined member's offsets again). Every handed record is checked against the partition's own
// position, so a batch kafkajs fetched twice (a seek racing a fetch from another leader) is never counted twice,
// and the records read per partition are returned for the caller to check against the range's size.
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { KafkaConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { RecordBatch } from '../ports.js';
import { createKafka } from './kafka-client.js';
import { toLogRecord } from './kafka-subscription.js';

export interface PartitionRange {
  readonly partition: number;
  /** The first offset stamped at or after the time (the end when there is none). */
  readonly start: bigint;
  /** The log end when the read began: the range stops before it. */
  readonly end: bigint;
  /** Records read of the range (each at most once). */
  read: number;
}

export interface TimeRangeReadOptions {
  readonly topic: string;
  /** Epoch ms: the broker's offsets for this time start each partition's range. */
  readonly from: number;
  /** Only these partitions (another process reads the rest); null: every partition of the topic. */
  readonly partitions: readonly number[] | null;
  readonly maxBatchSize: number;
  /** Records of one partition, in offset order, each once; never called for two partitions at a time. */
  handleBatch(batch: RecordBatch): Promise<void>;
  /** The partition's range was read whole (called once, never alongside handleBatch). */
  partitionDone(partition: number): Promise<void>;
  /** The ranges found at start, before any record is read. */
  onRanges?(ranges: readonly PartitionRange[]): void;
}

/** Thrown when a partition asked for does not exist: the message names --partitions. */
export class UnknownPartitionError extends Error {
  override name = 'UnknownPartitionError';
}

/** Reads the ranges; resolves with them (and what was read of each) once every one is read whole. */
export async function readFromTime(
  config: KafkaConfig,
  logger: Logger,
  options: TimeRangeReadOptions,
): Promise<readonly PartitionRange[]> {
  const kafka = createKafka(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${config.clientId}-range-${randomUUID()}`;
  let consumer: Consumer | undefined;
  try {
    const ranges = await findRanges(admin, options);
    options.onRanges?.(ranges);
    const open = ranges.filter((range) => range.start < range.end);
    if (open.length === 0) return ranges;
    consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: config.fetchMaxWaitMs,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3)),
    });
    await readRanges(consumer, open, options);
    return ranges;
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    // The group committed only the seeks; nothing is to be resumed from it.
    if (consumer) await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

async function findRanges(
  admin: ReturnType<ReturnType<typeof createKafka>['admin']>,
  { topic, from, partitions }: TimeRangeReadOptions,
): Promise<PartitionRange[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  // A partition with no record stamped at or after `from` answers its log end (kafkajs maps -1 to it).
  const starts = await admin.fetchTopicOffsetsByTimestamp(topic, from);
  const known = new Set(ends.map((end) => end.partition));
  const unknown = (partitions ?? []).filter((partition) => !known.has(partition));
  if (unknown.length > 0)
    throw new UnknownPartitionError(
      `--partitions: ${topic} has no partition ${unknown.join(', ')} (it has 0 to ${known.size - 1})`,
    );
  const wanted = new Set(partitions ?? known);
  return ends
    .filter(({ partition }) => wanted.has(partition))
    .map(({ partition, high }) => {
      const start = starts.find((offset) => offset.partition === partition)?.offset ?? high;
      return { partition, start: BigInt(start), end: BigInt(high), read: 0 };
    })
    .sort((a, b) => a.partition - b.partition);
}

async function readRanges(
  consumer: Consumer,
  open: readonly PartitionRange[],
  options: TimeRangeReadOptions,
): Promise<void> {
  const { topic } = options;
  const byPartition = new Map(open.map((range) => [range.partition, range]));
  // The next offset each partition is to hand over: a record below it was handed already.
  const next = new Map(open.map((range) => [range.partition, range.start]));
  let left = open.length;
  let finished: () => void = () => {};
  let failed: (error: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  // On every join (the first, and a rejoin after a session timeout) the partitions go on from their own
  // positions; the other partitions of the topic start at their end (a fresh group) and are ignored.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [partition, offset] of next) {
      if (offset < byPartition.get(partition)!.end)
        consumer.seek({ topic, partition, offset: offset.toString() });
    }
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) failed(payload.error);
  });
  const eachBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const range = byPartition.get(batch.partition);
    const from = next.get(batch.partition);
    if (!range || from === undefined || from >= range.end) return;
    const records = batch.messages
      .filter((message) => BigInt(message.offset) >= from && BigInt(message.offset) < range.end)
      .map((message) => toLogRecord(batch.partition, message));
    for (let at = 0; at < records.length; at += options.maxBatchSize) {
      if (!isRunning() || isStale()) return;
      const chunk = records.slice(at, at + options.maxBatchSize);
      const lastOffset = BigInt(chunk.at(-1)!.offset);
      await options.handleBatch({
        topic,
        partition: batch.partition,
        records: chunk,
        lag: Number(range.end - lastOffset - 1n),
      });
      range.read += chunk.length;
      next.set(batch.partition, lastOffset + 1n);
      await heartbeat();
    }
    // relayguard's producers are idempotent, not transactional: offsets are contiguous, so the last record
    // before the end is a record, and a range is read once it was handed.
    if (next.get(batch.partition)! >= range.end) {
      await options.partitionDone(batch.partition);
      if (--left === 0) finished();
    }
  };
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  // Serial batches (one partition at a time): the handler's state spans partitions.
  await consumer.run({ autoCommit: false, partitionsConsumedConcurrently: 1, eachBatch });
  await done;
}
