// The event log of the embedded mode: partitioned, ordered per partition, with committed group offsets and
// redelivery after a failed batch, like Kafka. A group has one member at a time here (no rebalancing).
import { setTimeout as sleep } from 'node:timers/promises';
import { deferred } from '../deferred.js';
import { keyPartition } from '../key-partition.js';
import type {
  Clock,
  ConsumeOptions,
  EventLog,
  LogRecord,
  OutgoingRecord,
  RecordBatch,
  Subscription,
} from '../ports.js';
import { DEFAULT_MAX_BATCH_SIZE } from '../ports.js';
import { checkedStartOffsets } from '../start-offsets.js';
import { partitionKey, WriteBehind } from '../write-behind.js';
import { type CleanupPolicy, PartitionLog } from './partition-log.js';

const RETRY_BACKOFF_MS = 50;

export interface MemoryEventLogOptions {
  readonly clock: Clock;
  /** Partitions of a topic the first time it is used. */
  readonly partitions?: number;
  /** How each topic is cleaned up (`partition-log.ts`); a topic not named keeps every record. */
  readonly cleanup?: (topic: string) => CleanupPolicy;
}

export class MemoryEventLog implements EventLog {
  readonly #topics = new Map<string, PartitionLog[]>();
  readonly #committed = new Map<string, Map<string, number>>();
  readonly #activeGroups = new Set<string>();
  readonly #subscriptions = new Map<Subscription, { drained(): boolean; commitNow(): void }>();
  /** Resolved (and replaced) once per turn of the event loop in which records were published. */
  #wake = deferred();
  #wakeScheduled = false;
  readonly #clock: Clock;
  readonly #partitions: number;
  readonly #cleanup: (topic: string) => CleanupPolicy;

  constructor(options: MemoryEventLogOptions) {
    this.#clock = options.clock;
    this.#partitions = options.partitions ?? 4;
    this.#cleanup = options.cleanup ?? (() => ({ kind: 'keep' }));
  }

  #partitionsOf(topic: string): PartitionLog[] {
    let partitions = this.#topics.get(topic);
    if (!partitions) {
      const policy = this.#cleanup(topic);
      partitions = Array.from({ length: this.#partitions }, () => new PartitionLog(policy));
      this.#topics.set(topic, partitions);
    }
    return partitions;
  }

  async publish(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    const partitions = this.#partitionsOf(topic);
    const now = this.#clock.now();
    // As Kafka's producer places them: a tenant's events stay in one partition, and in order.
    const partitionOf = keyPartition(partitions.length);
    for (const record of records) {
      const partition = partitionOf(record.key);
      partitions[partition]!.append(
        { key: record.key, value: record.value, headers: { ...record.headers }, partition, timestamp: now },
        now,
      );
    }
    // Consumers wake on the next turn, not at once: what is published in one turn (the END-OF-MESSAGE events of
    // every relay connection that was read in it) reaches them as one batch, like one fetch from Kafka.
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      const woken = this.#wake;
      this.#wake = deferred();
      woken.resolve();
    });
  }

  /** Every record a topic holds, partition by partition (for tests and tools). */
  records(topic: string): LogRecord[] {
    return this.#partitionsOf(topic).flatMap((log) => log.records);
  }

  async subscribe(options: ConsumeOptions): Promise<Subscription> {
    const { groupId, flush } = options;
    if (groupId !== null) {
      if (this.#activeGroups.has(groupId))
        throw new Error(`memory event log: group ${groupId} already has a member`);
      this.#activeGroups.add(groupId);
    }
    const ends = new Map<string, number>();
    for (const topic of options.topics) {
      for (const [partition, log] of this.#partitionsOf(topic).entries())
        ends.set(partitionKey(topic, partition), log.end);
    }
    // Committed: the group's offsets (a group-less reader's own progress, from its start offsets); next: where
    // fetching goes on from.
    const committed =
      groupId === null
        ? new Map(
            [...checkedStartOffsets(options.startOffsets, bigints(ends))].map(([key, at]) => [
              key,
              Number(at),
            ]),
          )
        : this.#groupOffsets(groupId);
    const next = new Map(committed);
    const caughtUp = deferred();
    const isCaughtUp = () => [...ends].every(([key, end]) => (committed.get(key) ?? 0) >= end);
    let running = true;
    let busy = false;
    const stopped = deferred();
    let nudge = deferred();
    let commitRequested = false;
    const writeBehind = flush
      ? new WriteBehind({
          flush,
          commitIntervalMs: options.commitIntervalMs ?? 0,
          redeliverFrom: ({ topic, partition }, offset) =>
            next.set(partitionKey(topic, partition), Number(offset)),
          commit: async (ranges) => {
            for (const { topic, partition, next: offset } of ranges)
              committed.set(partitionKey(topic, partition), Number(offset));
          },
        })
      : undefined;
    const commit = async () => {
      if (!writeBehind?.pending) return;
      busy = true;
      try {
        await writeBehind.commit();
      } finally {
        busy = false;
      }
    };

    // The only member of its group: every partition is its own from the start.
    options.onAssigned?.(
      options.topics.flatMap((topic) =>
        this.#partitionsOf(topic).map((_, partition) => ({ topic, partition })),
      ),
    );
    const loop = (async () => {
      while (running) {
        if (isCaughtUp()) caughtUp.resolve();
        const wake = this.#wake.promise;
        let delivered = false; // anything handled (or due again) in this pass
        for (const topic of options.topics) {
          for (const [partition, log] of this.#partitionsOf(topic).entries()) {
            if (!running) break;
            const key = partitionKey(topic, partition);
            const from = next.get(key) ?? 0;
            if (from >= log.end) continue;
            // Never empty: cleanup never drops a partition's last record. Offsets may skip what it dropped.
            const { records, lag } = log.read(from, options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
            const to = Number(records.at(-1)!.offset) + 1;
            const batch: RecordBatch = { topic, partition, records, lag };
            busy = true;
            try {
              await options.handleBatch(batch);
              next.set(key, to);
              if (writeBehind) writeBehind.handled(batch, BigInt(from), BigInt(to), batch.lag === 0);
              else committed.set(key, to);
              delivered = true;
            } catch (error) {
              options.onBatchError?.(error, batch);
              // With write-behind the handler may have dropped more than this batch: from the last commit on.
              next.set(key, writeBehind ? Number(writeBehind.failed(batch, BigInt(from))) : from);
              await sleep(RETRY_BACKOFF_MS);
              delivered = true; // not waiting for new records: the failed ones are still due
            } finally {
              busy = false;
            }
          }
        }
        if (running && writeBehind && (writeBehind.due || (commitRequested && writeBehind.pending))) {
          commitRequested = false;
          await commit();
          continue; // a flush may have had partitions redelivered: no waiting for new records first
        }
        if (!delivered && running) {
          const waits = [wake, stopped.promise, nudge.promise];
          if (writeBehind?.pending) waits.push(sleep(Math.max(1, writeBehind.msUntilInterval)));
          await Promise.race(waits);
        }
      }
    })();

    const subscription: Subscription = {
      caughtUp: caughtUp.promise,
      stop: async () => {
        running = false;
        stopped.resolve();
        await loop;
        await commit();
        if (groupId !== null) this.#activeGroups.delete(groupId);
        this.#subscriptions.delete(subscription);
      },
    };
    this.#subscriptions.set(subscription, {
      drained: () => !busy && this.#drained(options.topics, committed),
      commitNow: () => {
        commitRequested = true;
        const woken = nudge;
        nudge = deferred();
        woken.resolve();
      },
    });
    return subscription;
  }

  #groupOffsets(groupId: string): Map<string, number> {
    let offsets = this.#committed.get(groupId);
    if (!offsets) {
      offsets = new Map();
      this.#committed.set(groupId, offsets);
    }
    return offsets;
  }

  #drained(topics: readonly string[], positions: Map<string, number>): boolean {
    return topics.every((topic) =>
      this.#partitionsOf(topic).every(
        (log, partition) => (positions.get(partitionKey(topic, partition)) ?? 0) >= log.end,
      ),
    );
  }

  async settled(): Promise<void> {
    for (;;) {
      const subscriptions = [...this.#subscriptions.values()];
      if (subscriptions.every((subscription) => subscription.drained())) return;
      for (const subscription of subscriptions) subscription.commitNow();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions.keys()].map((subscription) => subscription.stop()));
  }
}

function bigints(offsets: ReadonlyMap<string, number>): Map<string, bigint> {
  return new Map([...offsets].map(([key, offset]) => [key, BigInt(offset)]));
}
