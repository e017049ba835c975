// Materializes the tenant directory from the compacted topics. Every replica reads every partition from the
// beginning (no consumer group): the whole directory, or an enforcer's index of what decisions read. An index
// restored from its snapshot reads the snapshot's topics on from the offsets it reflects, and writes a new
// snapshot now and then (index-snapshot.ts). A scorer's slice (core/directory-slice.ts) has a partition's tenants
// read again from the start while the feed is paused (slice-loader.ts).
import type { DirectoryEvent } from '../core/directory.js';
import { EnforcerIndex } from '../core/enforcer-index.js';
import { isRelayguardError } from '../core/errors.js';
import type { SnapshotParts } from '../core/snapshot-parts.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createMutex } from '../platform/mutex.js';
import type { EventLog, PartitionOffset, RecordBatch, SchemaCodec, Subscription } from '../platform/ports.js';
import { partitionKey } from '../platform/write-behind.js';
import { writeIndexSnapshot } from './index-snapshot.js';

const FEEDS = {
  [Topics.acceptedDomains]: 'accepted-domain',
  [Topics.connectors]: 'connector',
  [Topics.tenantPolicies]: 'tenant-policy',
  [Topics.tenantBlocks]: 'tenant-block',
} as const;

type FeedTopic = keyof typeof FEEDS;

/** The topics the directory is materialized from. */
export const DIRECTORY_TOPICS: readonly string[] = Object.keys(FEEDS);

/** The topics an index snapshot reflects (EnforcerIndex.SNAPSHOT_KINDS). */
export const SNAPSHOT_TOPICS: readonly string[] = Object.entries(FEEDS)
  .filter(([, kind]) => (EnforcerIndex.SNAPSHOT_KINDS as readonly string[]).includes(kind))
  .map(([topic]) => topic);

/** What the feed materializes: the whole directory, or the enforcer's index (services/core/enforcer-index.ts). */
export interface MaterializedDirectory {
  apply(change: DirectoryEvent): void;
  applyTombstone(kind: 'accepted-domain' | 'connector', key: string): void;
  readonly blockedCount: number;
  readonly monitorBlockedCount: number;
  /** The enforcer's index: the state of SNAPSHOT_TOPICS as it is now. */
  snapshot?(): SnapshotParts;
  /** The enforcer's index: gives back its arrays' unused room, once caught up. */
  trim?(): void;
}

export interface DirectoryFeedDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly directory: MaterializedDirectory;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The fetch wait of the feed's subscription (KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS): blocks reach enforcers here. */
  readonly fetchMaxWaitMs?: number;
  /** The offsets a restored index reflects: those partitions are read on from there, the others from the start. */
  readonly startOffsets?: readonly PartitionOffset[];
  /**
   * Where and how often an index that takes snapshots writes one (RELAYGUARD_SNAPSHOT_*); how long a stop waits
   * for one (STOP_SNAPSHOT_MS unless given).
   */
  readonly snapshots?: {
    readonly directory: string;
    readonly intervalMs: number;
    readonly stopWaitMs?: number;
  };
}

export interface DirectoryFeed extends Subscription {
  /**
   * Runs `section` while the feed applies no record, with the next offset the feed will apply per partition of
   * its topics (partitionKey); a partition not there has had nothing applied yet.
   */
  whilePaused<T>(section: (next: ReadonlyMap<string, bigint>) => Promise<T>): Promise<T>;
}

/** Applies a batch of a directory topic to `directory`; counted in the metrics when `count`. */
export async function applyDirectoryBatch(
  deps: Pick<DirectoryFeedDeps, 'codec' | 'logger' | 'metrics'>,
  directory: Pick<MaterializedDirectory, 'apply' | 'applyTombstone'>,
  batch: RecordBatch,
  count = true,
): Promise<void> {
  const topic = batch.topic as FeedTopic;
  const counted = (outcome: string) => count && deps.metrics.eventsConsumed.inc({ topic, outcome });
  for (const record of batch.records) {
    if (record.value === null) {
      // Removed domains and connectors end in a tombstone, so that compaction forgets them (RUNBOOK: topic
      // retention). relayguard writes none on the policy and block topics: one there changes nothing.
      const kind = FEEDS[topic];
      if (record.key === null || (kind !== 'accepted-domain' && kind !== 'connector')) continue;
      directory.applyTombstone(kind, record.key);
      counted('tombstone');
      continue;
    }
    try {
      const event = await deps.codec.decode(topic, record.value);
      directory.apply({ kind: FEEDS[topic], event } as DirectoryEvent);
    } catch (error) {
      if (isRelayguardError(error) && !error.retryable) {
        // State topics are written by relayguard alone: a bad record is a bug to alert on, not to block on.
        deps.logger.error(
          { topic, partition: batch.partition, offset: record.offset, code: error.code, err: error },
          'skipped an unreadable directory record',
        );
        counted('invalid');
        continue;
      }
      throw error;
    }
    counted('applied');
  }
}

export async function startDirectoryFeed(deps: DirectoryFeedDeps): Promise<DirectoryFeed> {
  const snapshots =
    deps.snapshots && deps.directory.snapshot ? new PeriodicSnapshots(deps, deps.snapshots) : undefined;
  const exclusive = createMutex();
  const next = new Map<string, bigint>();
  for (const start of deps.startOffsets ?? [])
    next.set(partitionKey(start.topic, start.partition), BigInt(start.offset));
  const handleBatch = (batch: RecordBatch) =>
    exclusive(async () => {
      await applyDirectoryBatch(deps, deps.directory, batch);
      const { topic, partition, records } = batch;
      if (records.length > 0) next.set(partitionKey(topic, partition), BigInt(records.at(-1)!.offset) + 1n);
      deps.metrics.tenantsBlocked.set(deps.directory.blockedCount);
      deps.metrics.tenantsMonitorBlocked.set(deps.directory.monitorBlockedCount);
      deps.metrics.consumerLag.set({ topic, partition: String(partition) }, batch.lag);
      snapshots?.handled(batch);
    });
  const subscription = await deps.log.subscribe({
    groupId: null,
    topics: DIRECTORY_TOPICS,
    startOffsets: deps.startOffsets,
    handleBatch,
    maxWaitTimeMs: deps.fetchMaxWaitMs,
  });
  return {
    // Caught up, the index grows by a record now and then: the room its arrays kept for growing fast goes back.
    caughtUp: subscription.caughtUp.then(() => deps.directory.trim?.()),
    whilePaused: (section) => exclusive(() => section(next)),
    stop: async () => {
      await subscription.stop();
      await snapshots?.stop();
    },
  };
}

/**
 * How long a stop waits for the snapshot being written: `relayguard` exits 25 s after a stop begins
 * (services/cli/commands/serve.ts), and the rest of the stop needs some of them. A write that takes longer (7-10 s
 * at 10M tenants here, bench/README.md benchmark 12; more on a slow disk) is given up, and a restart reads on from
 * the last snapshot written (at most the interval old).
 */
const STOP_SNAPSHOT_MS = 15_000;

/**
 * Writes the index's snapshot after a batch of its topics once the interval passed since the last one, and on stop
 * (a restart then reads only what was written while it was down) unless that takes longer than a stop waits.
 */
class PeriodicSnapshots {
  readonly #deps: DirectoryFeedDeps;
  readonly #settings: NonNullable<DirectoryFeedDeps['snapshots']>;
  /** Per partition of the snapshot's topics, the next offset: what the index reflects. */
  readonly #next = new Map<string, PartitionOffset>();
  #lastAt = performance.now();
  /** Batches of the snapshot's topics were handled since the last snapshot was taken. */
  #changed = false;
  #writing: Promise<void> | undefined;
  /** Aborted when a stop has waited long enough: the write in progress is given up. */
  readonly #givenUp = new AbortController();

  constructor(deps: DirectoryFeedDeps, settings: NonNullable<DirectoryFeedDeps['snapshots']>) {
    this.#deps = deps;
    this.#settings = settings;
    for (const start of deps.startOffsets ?? [])
      this.#next.set(partitionKey(start.topic, start.partition), start);
  }

  handled({ topic, partition, records }: RecordBatch): void {
    if (!SNAPSHOT_TOPICS.includes(topic) || records.length === 0) return;
    const offset = (BigInt(records.at(-1)!.offset) + 1n).toString();
    this.#next.set(partitionKey(topic, partition), { topic, partition, offset });
    this.#changed = true;
    if (!this.#writing && performance.now() - this.#lastAt >= this.#settings.intervalMs) this.#write();
  }

  /** Called once no batch is handled any more. */
  async stop(): Promise<void> {
    const waitMs = this.#settings.stopWaitMs ?? STOP_SNAPSHOT_MS;
    const giveUp = setTimeout(
      () => this.#givenUp.abort(new Error(`a stop waits ${waitMs} ms for the index snapshot`)),
      waitMs,
    );
    try {
      await this.#writing;
      if (this.#changed && !this.#givenUp.signal.aborted) this.#write();
      await this.#writing;
    } finally {
      clearTimeout(giveUp);
    }
  }

  /** Taken between two batches, so the copies and the offsets agree; written while batches go on. */
  #write(): void {
    const parts = this.#deps.directory.snapshot!();
    const offsets = [...this.#next.values()];
    const { directory } = this.#settings;
    const started = performance.now();
    this.#lastAt = started;
    this.#changed = false;
    const { signal } = this.#givenUp;
    this.#writing = writeIndexSnapshot(directory, parts, offsets, Date.now(), signal)
      .then((bytes) =>
        this.#deps.logger.info(
          { directory, bytes, partitions: offsets.length, ms: Math.round(performance.now() - started) },
          'wrote the index snapshot',
        ),
      )
      .catch((error: unknown) =>
        signal.aborted
          ? this.#deps.logger.warn(
              { directory, ms: Math.round(performance.now() - started), reason: String(signal.reason) },
              'gave up writing the index snapshot to stop in time; a restart reads on from the last one written',
            )
          : this.#deps.logger.warn(
              { err: error, directory },
              'writing the index snapshot failed; tried again later',
            ),
      )
      .finally(() => {
        this.#writing = undefined;
      });
  }
}
