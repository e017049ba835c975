// Offset bookkeeping of one Kafka subscription: where each partition resumes, how far it has been handled (and
// committed), and whether that reached the ends the partitions had when it began (caughtUp).
import { deferred } from '../deferred.js';
import type { PartitionBounds } from './kafka-client.js';

/** Kafka offsets are int64: kept as bigint here, as decimal strings across the port. Keyed by partitionKey. */
export type Offsets = Map<string, bigint>;

/** Where each partition resumes: the committed offset, or the log start when none was committed or it is older. */
export function resumePositions(bounds: ReadonlyMap<string, PartitionBounds>, committed: Offsets): Offsets {
  return new Map(
    [...bounds].map(([key, { low }]) => {
      const offset = committed.get(key);
      return [key, offset !== undefined && offset > low ? offset : low];
    }),
  );
}

export class SubscriptionProgress {
  readonly topics: readonly string[];
  /**
   * Per partition, the next offset to hand to the handler as far as this process knows; with write-behind, the
   * next offset committed.
   */
  readonly #positions: Offsets;
  readonly #ends: Offsets;
  /** A group's committed offsets: another member (another process) may own some of the partitions. */
  readonly #committedByGroup: (() => Promise<Offsets>) | undefined;
  readonly #caughtUp = deferred();
  #isCaughtUp = false;

  constructor(options: {
    readonly topics: readonly string[];
    readonly positions: Offsets;
    readonly ends: Offsets;
    readonly committedByGroup?: () => Promise<Offsets>;
  }) {
    this.topics = options.topics;
    this.#positions = options.positions;
    this.#ends = options.ends;
    this.#committedByGroup = options.committedByGroup;
  }

  /** Resolves once every partition was handled (and committed, for a group) up to its end at the start. */
  get caughtUp(): Promise<void> {
    return this.#caughtUp.promise;
  }

  get isCaughtUp(): boolean {
    return this.#isCaughtUp;
  }

  /** The next offset to hand to the handler, as far as this process knows (undefined: not a partition of it). */
  position(key: string): bigint | undefined {
    return this.#positions.get(key);
  }

  /** The partition was handled up to before `next`, and committed if it has a group. */
  advance(key: string, next: bigint): void {
    this.#positions.set(key, next);
  }

  /** Resolves caughtUp when the ends at the start are reached. */
  async check(): Promise<void> {
    if (!this.#isCaughtUp && (await this.reached(this.#ends))) {
      this.#isCaughtUp = true;
      this.#caughtUp.resolve();
    }
  }

  /** Whether every record below `ends` was handled, by this member or (for a group) by another. */
  async reached(ends: Offsets): Promise<boolean> {
    const behind = [...ends].filter(([key, end]) => (this.#positions.get(key) ?? 0n) < end);
    if (behind.length === 0) return true;
    if (!this.#committedByGroup) return false;
    const committed = await this.#committedByGroup();
    return behind.every(([key, end]) => (committed.get(key) ?? 0n) >= end);
  }
}
