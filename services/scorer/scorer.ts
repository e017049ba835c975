// The scorer: consumes MessageSubmitted in batches, folds each tenant's events into its window (services/core),
// publishes block decisions at once, then stores the windows with the applied log position, then lets the
// offsets be committed. The windows of the partitions it consumes stay in a bounded cache between batches; with a
// commit interval they are stored write-behind: the subscription flushes the dirty windows at that interval and
// commits the offsets they cover only after. A crash anywhere replays from the last commit; the stored position
// makes the replay count nothing twice.
import { enforcedBlock, type ScoringDirectory } from '../core/directory.js';
import { isRelayguardError, RelayguardError } from '../core/errors.js';
import { BatchFold } from '../core/fold.js';
import type { Policy } from '../core/policy.js';
import type { TenantContext } from '../core/scoring.js';
import { NO_STANDING } from '../core/tenant-terms.js';
import { Topics } from '../core/topics.js';
import type { TenantWindow } from '../core/windows.js';
import { systemClock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createMutex, type Mutex } from '../platform/mutex.js';
import type {
  Clock,
  EventLog,
  PartitionRef,
  RecordBatch,
  SchemaCodec,
  Subscription,
  WindowStore,
} from '../platform/ports.js';
import { BatchDecoder } from './batch-decoder.js';
import { ScorerPublisher } from './scorer-publisher.js';
import { ScorerWindows } from './scorer-windows.js';
import type { CachedWindow } from './window-cache.js';

export { UNKNOWN_TENANT_ATTEMPTS } from './batch-decoder.js';

export const SCORER_GROUP = 'relayguard-scorer';

export interface ScorerDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly store: WindowStore;
  readonly directory: ScoringDirectory;
  /** When the directory holds the tenants of this scorer's partitions only: what it holds and loads. */
  readonly slice?: PartitionSlice;
  readonly policy: Policy;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Events stamped further ahead of their record's log time than this are poison (a relay with a broken clock).
   * Less than the grace period, so an event from a relay that far ahead leaves correct events countable.
   */
  readonly maxClockSkewMs: number;
  readonly maxBatchSize?: number;
  /** Most tenants' windows kept between batches (least recently used go first, saved if dirty). */
  readonly windowCacheTenants?: number;
  /** Processing time, to load again cached windows whose store keys are about to expire (`store.ttlMs`). */
  readonly clock?: Clock;
  /**
   * Write-behind: dirty windows are saved, and the offsets they cover committed, at most this often (the
   * subscription calls flush). 0, the default for direct handleBatch callers: saved at the end of every batch.
   */
  readonly commitIntervalMs?: number;
  /**
   * The partition producers give a tenant under the configured partition count (RELAYGUARD_PARTITIONS): a tenant
   * found there after a move was moved by the operator's procedure, not under running scorers.
   */
  readonly keyPartition?: (key: string) => number;
}

/**
 * A directory that holds only the tenants of the partitions this scorer is assigned (core/directory-slice.ts), and
 * loads a partition's when the partition comes to it (app/slice-loader.ts).
 */
export interface PartitionSlice {
  /** The partitions came to this scorer: their tenants are loaded from now on. */
  assign(partitions: readonly number[]): void;
  /** Whether it holds the tenants of this partition; if not, loads them. */
  holdsPartition(partition: number): boolean;
  /**
   * Tenants the directory does not know, found in `partition`: those the slice neither holds nor loads are loaded
   * by name (keyed to a partition it does not hold). True when any of them is being loaded: their batch waits;
   * false: it holds them all, so they are unknown to the whole directory too.
   */
  awaits(tenantIds: readonly string[], partition: number): boolean;
  /** The partitions went to another scorer: their tenants are dropped. */
  release(partitions: readonly number[]): void;
}

export const DEFAULT_WINDOW_CACHE_TENANTS = 50_000;

/** What the fold reads about tenants, from the materialized directory (the benchmarks score with it too). */
export function scoringContext(directory: ScoringDirectory): TenantContext {
  return {
    acceptedDomain: (tenantId, domain) => directory.acceptedDomain(tenantId, domain),
    isRegistered: (tenantId, domain) => directory.isRegistered(tenantId, domain),
    standing: (tenantId) => directory.tenant(tenantId) ?? NO_STANDING,
    connectorCreatedAt: (tenantId, connectorId) =>
      directory.connector(tenantId, connectorId)?.createdAt ?? null,
    enforcedBlock: (tenantId) => enforcedBlock(directory.tenant(tenantId)),
  };
}

export class Scorer {
  readonly #deps: ScorerDeps;
  readonly #context: TenantContext;
  readonly #windows: ScorerWindows;
  readonly #decoder: BatchDecoder;
  readonly #publisher: ScorerPublisher;
  readonly #writeBehind: boolean;
  /**
   * Partitions whose cached windows were dropped because the store refused one (another scorer wrote it): their
   * next batch is refused once, so the log redelivers them from the last commit onto windows loaded afresh.
   */
  readonly #conflicted = new Set<number>();
  /** Batches, flushes, resets and revocations hold this mutex: each reads and changes the cache across awaits. */
  readonly #exclusive: Mutex = createMutex();
  #subscriptions: Subscription[] = [];

  constructor(deps: ScorerDeps) {
    this.#deps = deps;
    this.#context = scoringContext(deps.directory);
    this.#windows = new ScorerWindows({
      store: deps.store,
      metrics: deps.metrics,
      clock: deps.clock ?? systemClock,
      maxTenants: deps.windowCacheTenants ?? DEFAULT_WINDOW_CACHE_TENANTS,
      commitIntervalMs: deps.commitIntervalMs ?? 0,
    });
    this.#decoder = new BatchDecoder(deps.codec, deps.directory, deps.maxClockSkewMs, deps.slice);
    this.#publisher = new ScorerPublisher(deps);
    this.#writeBehind = (deps.commitIntervalMs ?? 0) > 0;
  }

  async start(): Promise<void> {
    const { log, logger } = this.#deps;
    const onBatchError = (error: unknown, batch: RecordBatch) =>
      logger.warn(
        { err: error, topic: batch.topic, partition: batch.partition },
        'batch failed; it will be retried',
      );
    this.#subscriptions = [
      await log.subscribe({
        groupId: SCORER_GROUP,
        topics: [Topics.messageSubmitted],
        maxBatchSize: this.#deps.maxBatchSize,
        handleBatch: (batch) => this.handleBatch(batch),
        onBatchError,
        onRevoked: (partitions) => this.revoke(partitions.map(({ partition }) => partition)),
        onAssigned: (partitions) => this.#deps.slice?.assign(partitions.map(({ partition }) => partition)),
        ...(this.#writeBehind
          ? { commitIntervalMs: this.#deps.commitIntervalMs, flush: () => this.flush() }
          : {}),
      }),
    ];
  }

  async stop(): Promise<void> {
    await Promise.all(this.#subscriptions.map((subscription) => subscription.stop()));
    this.#subscriptions = [];
  }

  /**
   * Scores one batch of one partition. Throws (and the log redelivers from the partition's last commit) on any
   * retryable failure; the partition's cached windows are dropped then, since they may hold events whose blocks
   * were not published.
   */
  handleBatch(batch: RecordBatch): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#conflicted.delete(batch.partition)) throw conflictError(batch.partition);
      // No event is scored against a directory that lacks its tenant: the batch comes again once it is loaded.
      // Tenants keyed to other partitions are checked where the decoder does not find them (slice.awaits).
      if (this.#deps.slice && !this.#deps.slice.holdsPartition(batch.partition))
        throw sliceLoading(batch.partition);
      try {
        await this.#score(batch);
      } catch (error) {
        // The throw itself has the partition redelivered from its last commit, onto windows loaded afresh.
        this.#windows.dropPartitions(new Set([batch.partition]));
        this.#conflicted.delete(batch.partition);
        throw error;
      }
      if (this.#conflicted.delete(batch.partition)) throw conflictError(batch.partition);
    });
  }

  /**
   * Saves every dirty window (write-behind: the subscription calls this before it commits). Names the partitions
   * whose windows the store refused (they were dropped: redeliver them from the last commit); throws when the
   * store failed, and nothing may be committed.
   */
  flush(): Promise<{ redeliver: PartitionRef[] }> {
    return this.#exclusive(async () => {
      await this.#flush().catch((error: unknown) => {
        if (!(isRelayguardError(error) && error.code === 'WRITE_CONFLICT')) throw error;
        // Said as revoke() says it: a refused save is how a zombie scorer is kept from undoing another's work.
        this.#deps.logger.warn({ err: error }, 'windows not saved; their partitions are rescored');
      });
      const redeliver = [...this.#conflicted].map((partition) => ({
        topic: Topics.messageSubmitted,
        partition,
      }));
      // The log redelivers them from the last commit now: no batch of theirs needs refusing any more.
      this.#conflicted.clear();
      return { redeliver };
    });
  }

  /** Partitions given to another scorer: their dirty windows are saved if the store still takes them, then dropped. */
  revoke(partitions: readonly number[]): Promise<void> {
    return this.#exclusive(async () => {
      const revoked = new Set(partitions);
      await this.#flush(revoked).catch((error: unknown) =>
        this.#deps.logger.warn({ err: error, partitions }, 'windows of revoked partitions not saved'),
      );
      this.#windows.dropPartitions(revoked);
      for (const partition of revoked) this.#conflicted.delete(partition);
      this.#deps.slice?.release(partitions);
    });
  }

  async #score(batch: RecordBatch): Promise<void> {
    const { metrics } = this.#deps;
    const started = performance.now();
    const { byTenant, deadLetters } = await this.#decoder.decode(batch);
    const entries = await this.#windows.windows(batch.partition, byTenant.keys());

    // Folded in place: the cache owns the windows, and records what each fold changed for the next save.
    const fold = new BatchFold(this.#deps.policy, this.#context);
    // forEach, not for-of: no entry array per tenant.
    byTenant.forEach((messages, tenantId) => {
      const entry = entries.get(tenantId)!;
      this.#checkPartition(tenantId, entry.window, batch.partition);
      fold.tenant(entry.window, tenantId, messages, entry.changes);
      this.#windows.markDirty(tenantId, entry);
    });
    // Added per batch, once per class: a labelled inc per event costs a label hash.
    for (const [messageClass, count] of Object.entries(fold.classes))
      if (count > 0) metrics.messagesClassified.inc({ class: messageClass }, count);

    // Publish before storing: a crash in between re-derives the same block (same id) on replay; the reverse
    // order could store "blocked" and lose the event. Only while this scorer still owns the windows, though.
    await this.#fence(
      deadLetters.length > 0 ? byTenant.keys() : fold.emits.map((event) => event.tenantId),
      entries,
    );
    await this.#publisher.deadLetter(batch.topic, deadLetters);
    await this.#publisher.publishBlocks(batch.topic, fold.emits, fold.triggers);
    await this.#publisher.reaffirmStates();

    if (!this.#writeBehind) await this.#flush();
    this.#refused(await this.#windows.evictOverflow());

    for (const [outcome, count] of Object.entries(fold.outcomes))
      if (count > 0) metrics.eventsConsumed.inc({ topic: batch.topic, outcome }, count);
    metrics.lateEvents.inc(fold.outcomes.late);
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, batch.lag);
    metrics.batchSize.observe(batch.records.length);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
  }

  /**
   * A tenant's events live in one partition (the topic is keyed by tenant): the stored offset that makes a
   * redelivery count once is that partition's. A window last fed from another partition is expected once, after
   * deploy/RUNBOOK.md's "Adding partitions" (drained, scorers restarted with RELAYGUARD_PARTITIONS set to the new
   * count, which gives the tenant this partition); any other move means the count changed under running scorers.
   */
  #checkPartition(tenantId: string, window: TenantWindow, partition: number): void {
    const from = window.watermark?.partition;
    if (from === undefined || from === partition) return;
    const fields = { tenantId, from, to: partition, topic: Topics.messageSubmitted };
    if (this.#deps.keyPartition?.(tenantId) === partition) {
      this.#deps.logger.info(
        fields,
        "a tenant's events moved to the partition RELAYGUARD_PARTITIONS gives it",
      );
      return;
    }
    this.#deps.logger.error(
      fields,
      "a tenant's events moved to another partition: its partition count changed under running scorers, or is not RELAYGUARD_PARTITIONS (deploy/RUNBOOK.md, Adding partitions)",
    );
  }

  /**
   * Side effects come from the partition's current owner only. A scorer that lost the partition (evicted from the
   * group, or handed it back after another member had it) holds windows the store has moved on from: checked
   * against the store before anything is published, and refused (the partition is rescored from the last commit
   * on windows loaded afresh), so a zombie cannot publish a block or a dead letter from a stale window. One round
   * trip, only for batches that publish something.
   */
  async #fence(tenantIds: Iterable<string>, entries: ReadonlyMap<string, CachedWindow>): Promise<void> {
    const owned = [...tenantIds];
    if (owned.length === 0) return;
    const moved = await this.#windows.moved(owned, entries);
    if (moved.length > 0) throw conflictError(entries.get(moved[0]!)!.partition);
  }

  /** Saves the dirty windows (of some partitions); a refused one drops its partition's windows. */
  async #flush(partitions?: ReadonlySet<number>): Promise<void> {
    const refused = this.#refused(await this.#windows.flush(partitions));
    if (refused.size > 0) throw conflictError(...refused);
  }

  /** Partitions whose windows the store refused (dropped): their next batch is refused once. */
  #refused(partitions: Set<number>): Set<number> {
    for (const partition of partitions) this.#conflicted.add(partition);
    return partitions;
  }
}

function conflictError(...partitions: number[]): RelayguardError {
  return new RelayguardError(
    'WRITE_CONFLICT',
    `partition ${partitions.join(', ')}: a window changed under this scorer (another owned the partition); rescoring from the last commit`,
  );
}

function sliceLoading(partition: number): RelayguardError {
  return new RelayguardError(
    'DIRECTORY_BEHIND',
    `partition ${partition}: the directory is loading the tenants of this partition; its batch comes again`,
  );
}
