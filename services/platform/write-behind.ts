// Write-behind bookkeeping for an event log's subscription whose handler keeps what batches did in memory
// (ConsumeOptions.flush): the ranges handled since the last commit wait here until a flush makes their effects
// durable; then their offsets are committed, or, for the partitions the flush names as lost, delivery starts
// again from the first offset handled since the last commit. The memory log and the Kafka log share it, so the
// embedded mode commits exactly when production does.
import type { PartitionRef } from './ports.js';

/** One key per partition of a subscription (both logs key their offsets so). */
export const partitionKey = (topic: string, partition: number): string => `${topic}:${partition}`;

/** A partition's offsets to commit: the next one to read. Offsets are int64 in Kafka: bigint here. */
export interface CommitRange extends PartitionRef {
  readonly next: bigint;
}

/** A handled range of a partition not committed yet. */
interface Uncommitted {
  readonly topic: string;
  readonly partition: number;
  /** Where a redelivery starts: the first offset handled since the last commit. */
  readonly from: bigint;
  /** The offset to commit: after the last one handled. */
  next: bigint;
  /** The last batch handled left the partition at its end (as fetched). */
  caughtUp: boolean;
}

export interface WriteBehindOptions {
  readonly flush: () => Promise<{ readonly redeliver: readonly PartitionRef[] }>;
  /** How often to flush while a backlog is consumed; a subscription at the end of its partitions flushes at once. */
  readonly commitIntervalMs: number;
  /** Delivery of the partition starts again at `offset` (its effects were lost in the flush). */
  redeliverFrom(ref: PartitionRef, offset: bigint): void;
  /** Commits the group's offsets (a group-less reader's own positions); throws to commit nothing. */
  commit(ranges: readonly CommitRange[]): Promise<void>;
  /** A flush or commit failed; nothing was committed and the next attempt retries. */
  onFailure?(error: unknown): void;
}

export class WriteBehind {
  readonly #options: WriteBehindOptions;
  readonly #uncommitted = new Map<string, Uncommitted>();
  #lastAttempt = performance.now();
  /** The last flush or commit failed: only the interval retries it, not every batch that reaches the end. */
  #failed = false;

  constructor(options: WriteBehindOptions) {
    this.#options = options;
  }

  /** Handled since the last commit: something a flush must cover. */
  get pending(): boolean {
    return this.#uncommitted.size > 0;
  }

  /** Milliseconds until the interval makes a commit due (≤ 0: due now by the interval). */
  get msUntilInterval(): number {
    return this.#options.commitIntervalMs - (performance.now() - this.#lastAttempt);
  }

  /** A batch of the partition, `from` to before `next`, was handled; `caughtUp`: it ended at the partition's end. */
  handled(ref: PartitionRef, from: bigint, next: bigint, caughtUp: boolean): void {
    const key = partitionKey(ref.topic, ref.partition);
    const range = this.#uncommitted.get(key);
    this.#failed = false; // new work: try again as soon as it is caught up
    if (range) {
      range.next = next;
      range.caughtUp = caughtUp;
    } else {
      this.#uncommitted.set(key, { topic: ref.topic, partition: ref.partition, from, next, caughtUp });
    }
  }

  /**
   * A commit is due: at the interval, or at once when every partition handled since the last commit reached its
   * end (a backlog is flushed at the interval, a subscription keeping up makes its work durable without waiting)
   * unless the last attempt failed.
   */
  get due(): boolean {
    if (!this.pending) return false;
    if (this.msUntilInterval <= 0) return true;
    return !this.#failed && [...this.#uncommitted.values()].every((range) => range.caughtUp);
  }

  /**
   * A batch of the partition failed: what the handler did since the last commit may be lost with it, so delivery
   * starts again at the returned offset (the first handled since the last commit), or at the failed batch's own
   * first offset when nothing is uncommitted.
   */
  failed(ref: PartitionRef, batchFrom: bigint): bigint {
    const key = partitionKey(ref.topic, ref.partition);
    const from = this.#uncommitted.get(key)?.from ?? batchFrom;
    this.#uncommitted.delete(key);
    return from;
  }

  /** Partitions given to another member: their handled ranges are its to redo, never this member's to commit. */
  forget(refs: readonly PartitionRef[]): void {
    for (const { topic, partition } of refs) this.#uncommitted.delete(partitionKey(topic, partition));
  }

  /**
   * Flushes, then commits what was handled before the flush. Resolves with the ranges committed, or undefined when
   * the flush or the commit failed (nothing committed: the next attempt retries). Callers serialize it with
   * batches (the flush never runs alongside the handler), so no range changes while it runs.
   */
  async commit(): Promise<readonly CommitRange[] | undefined> {
    if (!this.pending) return [];
    this.#lastAttempt = performance.now();
    const handled = [...this.#uncommitted];
    try {
      const { redeliver } = await this.#options.flush();
      const lost = new Set(redeliver.map(({ topic, partition }) => partitionKey(topic, partition)));
      for (const key of lost) {
        const range = this.#uncommitted.get(key);
        if (!range) continue;
        this.#uncommitted.delete(key);
        this.#options.redeliverFrom(range, range.from);
      }
      // A range forgotten during the flush (its partition revoked, its member expelled) is not this member's to commit.
      const committing = handled
        .filter(([key, range]) => !lost.has(key) && this.#uncommitted.get(key) === range)
        .map(([, { topic, partition, next }]) => ({ topic, partition, next }));
      if (committing.length > 0) await this.#options.commit(committing);
      for (const [key] of handled) this.#uncommitted.delete(key);
      this.#failed = false;
      return committing;
    } catch (error) {
      this.#failed = true;
      this.#options.onFailure?.(error);
      return undefined;
    }
  }
}
