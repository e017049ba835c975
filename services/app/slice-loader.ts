// Loads a scorer's directory slice (core/directory-slice.ts) for the partitions that come to it, from the moment
// they are assigned (the subscription's onAssigned), so the load runs while their first fetch is in flight. The
// compacted state topics are keyed by tenant and object, not by the scorer's partitions, so a partition's tenants
// are read again from the start of the topics, while the directory feed is paused: records before the feed's
// position go to the tenants being loaded, and the feed applies the rest once they are held. A batch of a
// partition not held yet is refused meanwhile (the scorer's handleBatch), and so is one with a tenant keyed to a
// partition the slice does not hold (asked for by name when the scorer's decoder does not find it); it comes
// again after the log's back-off: no event is scored against a directory that lacks its tenant. Partitions and
// tenants asked for during a load are loaded together by the next one.
import type { DirectorySlice, SliceTenants } from '../core/directory-slice.js';
import { parseStateKey } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { EventLog, SchemaCodec } from '../platform/ports.js';
import { partitionKey } from '../platform/write-behind.js';
import type { PartitionSlice } from '../scorer/scorer.js';
import { applyDirectoryBatch, DIRECTORY_TOPICS, type DirectoryFeed } from './directory-feed.js';

export interface SliceLoaderDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly slice: DirectorySlice;
  readonly feed: DirectoryFeed;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class SliceLoader implements PartitionSlice {
  readonly #deps: SliceLoaderDeps;
  /** Asked for and not loading yet. */
  #wanted = nothingWanted();
  /** Being loaded: what is released meanwhile leaves it, so that it is not held. */
  #inFlight = nothingWanted();
  #loading: Promise<void> | undefined;

  constructor(deps: SliceLoaderDeps) {
    this.#deps = deps;
  }

  /** The partitions were assigned to this scorer: their tenants are loaded now, before their first batch comes. */
  assign(partitions: readonly number[]): void {
    this.#want(partitions);
  }

  holdsPartition(partition: number): boolean {
    if (this.#deps.slice.holdsPartition(partition)) return true;
    this.#want([partition]);
    return false;
  }

  awaits(tenantIds: readonly string[], partition: number): boolean {
    const { slice } = this.#deps;
    let awaited = false;
    for (const tenantId of tenantIds) {
      if (slice.holds(tenantId)) continue;
      if (!this.#inFlight.tenants.has(tenantId)) this.#wanted.tenants.set(tenantId, partition);
      awaited = true;
    }
    if (awaited) this.#loading ??= this.#loadWanted();
    return awaited;
  }

  /** Loads the partitions' tenants (in one load) unless they are held or being loaded already. */
  #want(partitions: readonly number[]): void {
    const { slice } = this.#deps;
    for (const partition of partitions)
      if (!slice.holdsPartition(partition) && !this.#inFlight.partitions.has(partition))
        this.#wanted.partitions.add(partition);
    if (this.#wanted.partitions.size > 0) this.#loading ??= this.#loadWanted();
  }

  release(partitions: readonly number[]): void {
    for (const asked of [this.#wanted, this.#inFlight]) {
      for (const partition of partitions) asked.partitions.delete(partition);
      for (const [tenantId, partition] of asked.tenants)
        if (partitions.includes(partition)) asked.tenants.delete(tenantId);
    }
    this.#deps.slice.release(partitions);
  }

  async #loadWanted(): Promise<void> {
    try {
      while (this.#wanted.partitions.size > 0 || this.#wanted.tenants.size > 0) {
        this.#inFlight = this.#wanted;
        this.#wanted = nothingWanted();
        await this.#load(this.#inFlight);
      }
    } catch (error) {
      // Asked for again by the partition's next batch.
      this.#deps.logger.warn({ err: error }, 'loading the directory slice failed; tried again');
    } finally {
      this.#deps.slice.dropUnheld();
      this.#inFlight = nothingWanted();
      this.#loading = undefined;
    }
  }

  async #load(loading: SliceTenants): Promise<void> {
    const { slice, feed, log, logger } = this.#deps;
    const started = performance.now();
    await feed.whilePaused(async (next) => {
      const into = slice.loadInto(loading);
      const reading = await log.subscribe({
        groupId: null,
        topics: DIRECTORY_TOPICS,
        // Only what the feed has applied already: it applies the rest once the tenants are held.
        handleBatch: (batch) => {
          const end = next.get(partitionKey(batch.topic, batch.partition)) ?? 0n;
          // relayguard keys every state record by its tenant (stateKey): another tenant's is not decoded.
          const records = batch.records.filter(
            ({ key, offset }) =>
              BigInt(offset) < end && (key === null || into.loads(parseStateKey(key).tenantId)),
          );
          return applyDirectoryBatch(this.#deps, into, { ...batch, records }, false);
        },
      });
      try {
        await reading.caughtUp;
      } finally {
        await reading.stop();
      }
      slice.hold(loading);
    });
    logger.info(
      {
        partitions: [...loading.partitions],
        tenantsByName: loading.tenants.size,
        tenants: slice.size,
        ms: Math.round(performance.now() - started),
      },
      'loaded the directory slice of newly assigned partitions',
    );
  }
}

function nothingWanted(): { partitions: Set<number>; tenants: Map<string, number> } {
  return { partitions: new Set(), tenants: new Map() };
}
