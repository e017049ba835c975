// The scorer: consumes MessageSubmitted in batches, folds each tenant's events into its window (services/core),
// publishes block decisions at once, then stores the windows with the applied log position, then lets the
// offsets be committed. The windows of the partitions it consumes stay in a bounded cache between batches; with a
// commit interval they are stored write-behind: the subscription flushes the dirty windows at that interval and
// commits the offsets they cover only after. A crash anywhere replays from the last commit; the stored position
// makes the replay count nothing twice.
import { validateMessage } from '../core/classify.js';
import type { MessageSubmitted, TenantBlockEvent } from '../core/contracts.generated.js';
import { enforcedBlockId, probationUntil, type TenantDirectory } from '../core/directory.js';
import { FIRST_GENERATION } from '../core/episodes.js';
import { isRelayguardError, RelayguardError } from '../core/errors.js';
import { checkEventTime } from '../core/event-time.js';
import type { Policy } from '../core/policy.js';
import { BatchFold, type BlockTrigger, type PositionedMessage, type TenantContext } from '../core/scoring.js';
import { Topics } from '../core/topics.js';
import { emptyWindow, type TenantWindow, windowVersion } from '../core/windows.js';
import { systemClock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createMutex, type Mutex } from '../platform/mutex.js';
import type {
  Clock,
  EventLog,
  LogRecord,
  OutgoingRecord,
  PartitionRef,
  RecordBatch,
  SchemaCodec,
  Subscription,
  WindowStore,
  WindowWrite,
} from '../platform/ports.js';
import { deadLetter } from './dead-letter.js';
import { type CachedWindow, WindowCache } from './window-cache.js';

export const SCORER_GROUP = 'relayguard-scorer';

export interface ScorerDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly store: WindowStore;
  readonly directory: TenantDirectory;
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
}

export const DEFAULT_WINDOW_CACHE_TENANTS = 50_000;

/**
 * How long a clean cached window is trusted without a load or save: the store's key TTL less a margin that covers
 * a batch and the write-behind interval before its save, so the save lands while the key still holds the version
 * it is conditional on.
 */
function windowCacheMaxAgeMs(ttlMs: number, commitIntervalMs: number): number {
  return Math.max(0, ttlMs - Math.max(2 * commitIntervalMs, Math.ceil(ttlMs / 10)));
}

/**
 * How often a batch holding an event of a tenant the directory does not know yet is refused (and redelivered
 * after the log's back-off: about 16 s on Kafka) before the event is dead-lettered as UNKNOWN_TENANT.
 */
export const UNKNOWN_TENANT_ATTEMPTS = 8;
/** Unknown tenants whose events are dead-lettered at once (they waited in vain already), at most. */
const GIVEN_UP_TENANTS = 10_000;

/** What the fold reads about tenants, from the materialized directory (the benchmarks score with it too). */
export function scoringContext(directory: TenantDirectory): TenantContext {
  return {
    acceptedDomain: (tenantId, domain) => directory.acceptedDomain(tenantId, domain),
    policyOverrides: (tenantId) => directory.tenant(tenantId)?.policy,
    probationUntil: (tenantId) => probationUntil(directory.tenant(tenantId)),
    connectorCreatedAt: (tenantId, connectorId) =>
      directory.connector(tenantId, connectorId)?.createdAt ?? null,
    generation: (tenantId) => directory.tenant(tenantId)?.generation ?? FIRST_GENERATION,
    enforcedBlockId: (tenantId) => enforcedBlockId(directory.tenant(tenantId)),
  };
}

export class Scorer {
  readonly #deps: ScorerDeps;
  readonly #context: TenantContext;
  readonly #cache: WindowCache;
  readonly #writeBehind: boolean;
  /**
   * Partitions whose cached windows were dropped because the store refused one (another scorer wrote it): their
   * next batch is refused once, so the log redelivers them from the last commit onto windows loaded afresh.
   */
  readonly #conflicted = new Set<number>();
  /** Batches, flushes, resets and revocations hold this mutex: each reads and changes the cache across awaits. */
  readonly #exclusive: Mutex = createMutex();
  /**
   * Onboarding: a relay resolves a tenant from connectors the admin service just published, and this scorer's
   * directory may not have them yet. The batch is refused and redelivered a few times, by partition: the offset
   * of the record waited for, and the attempts so far. A tenant still unknown after that is dead-lettered (the
   * DLQ record can be published again once the tenant exists), and its later events are at once (givenUp).
   */
  readonly #waitingForTenant = new Map<number, { offset: string; attempts: number }>();
  readonly #givenUp = new Set<string>();
  /** The lifted blocks this scorer published an unblock behind, by tenant (see #reaffirmUnblocks). */
  readonly #reaffirmed = new Map<string, string>();
  #subscriptions: Subscription[] = [];
  readonly #clock: Clock;

  constructor(deps: ScorerDeps) {
    this.#deps = deps;
    this.#context = scoringContext(deps.directory);
    this.#clock = deps.clock ?? systemClock;
    this.#cache = new WindowCache(
      deps.windowCacheTenants ?? DEFAULT_WINDOW_CACHE_TENANTS,
      windowCacheMaxAgeMs(deps.store.ttlMs, deps.commitIntervalMs ?? 0),
    );
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
      try {
        await this.#score(batch);
      } catch (error) {
        // The throw itself has the partition redelivered from its last commit, onto windows loaded afresh.
        this.#dropPartitions(new Set([batch.partition]));
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
      this.#dropPartitions(revoked);
      for (const partition of revoked) this.#conflicted.delete(partition);
    });
  }

  async #score(batch: RecordBatch): Promise<void> {
    const { metrics } = this.#deps;
    const started = performance.now();
    const { byTenant, deadLetters } = await this.#decode(batch);
    const entries = await this.#windows(batch.partition, byTenant.keys());

    // Folded in place: the cache owns the windows, and the store remembers what it last loaded or saved of each.
    const fold = new BatchFold(this.#deps.policy, this.#context);
    for (const [tenantId, messages] of byTenant) {
      const entry = entries.get(tenantId)!;
      this.#checkPartition(tenantId, entry.window, batch.partition);
      fold.tenant(entry.window, tenantId, messages);
      this.#cache.markDirty(tenantId, entry);
    }
    // Added per batch, once per class: a labelled inc per event costs a label hash.
    for (const [messageClass, count] of Object.entries(fold.classes))
      if (count > 0) metrics.messagesClassified.inc({ class: messageClass }, count);

    // Publish before storing: a crash in between re-derives the same block (same id) on replay; the reverse
    // order could store "blocked" and lose the event. Only while this scorer still owns the windows, though.
    await this.#fence(
      deadLetters.length > 0 ? byTenant.keys() : fold.emits.map((event) => event.tenantId),
      entries,
    );
    await this.#deadLetter(batch.topic, deadLetters);
    await this.#publishBlocks(batch.topic, fold.emits, fold.triggers);
    await this.#reaffirmUnblocks();

    if (!this.#writeBehind) await this.#flush();
    await this.#evictOverflow();

    for (const [outcome, count] of Object.entries(fold.outcomes))
      if (count > 0) metrics.eventsConsumed.inc({ topic: batch.topic, outcome }, count);
    metrics.lateEvents.inc(fold.outcomes.late);
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, batch.lag);
    metrics.batchSize.observe(batch.records.length);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
  }

  /**
   * A tenant's events live in one partition (the topic is keyed by tenant): the stored offset that makes a
   * redelivery count once is that partition's. A window last fed from another partition means the partition count
   * changed under running scorers, which only deploy/RUNBOOK.md's "Adding partitions" procedure makes safe.
   */
  #checkPartition(tenantId: string, window: TenantWindow, partition: number): void {
    const from = window.watermark?.partition;
    if (from === undefined || from === partition) return;
    this.#deps.logger.error(
      { tenantId, from, to: partition, topic: Topics.messageSubmitted },
      "a tenant's events moved to another partition: its partition count changed under running scorers (deploy/RUNBOOK.md, Adding partitions)",
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
    const stored = await this.#storeLoad(owned);
    const moved = owned.filter((tenantId) => {
      const entry = entries.get(tenantId)!;
      const window = stored.get(tenantId);
      // Expired (see #expired): no other scorer wrote it since, so nothing newer than this window exists.
      if (window === undefined && entry.persisted) {
        this.#cache.markExpired(entry);
        this.#deps.metrics.windowCacheExpiredSaves.inc();
      }
      return windowVersion(window) !== entry.storedVersion;
    });
    if (moved.length > 0) throw conflictError(entries.get(moved[0]!)!.partition);
  }

  /** The batch's tenants' windows: from the cache, the others loaded in one round trip (or new). */
  async #windows(partition: number, tenantIds: Iterable<string>): Promise<Map<string, CachedWindow>> {
    const { metrics } = this.#deps;
    const entries = new Map<string, CachedWindow>();
    const misses: string[] = [];
    const now = this.#clock.now();
    for (const tenantId of tenantIds) {
      const entry = this.#cache.get(tenantId, now);
      if (entry) entries.set(tenantId, entry);
      else misses.push(tenantId);
    }
    metrics.windowCacheLookups.inc({ result: 'hit' }, entries.size);
    if (misses.length === 0) return entries;
    metrics.windowCacheLookups.inc({ result: 'miss' }, misses.length);
    const loaded = await this.#storeLoad(misses);
    for (const tenantId of misses) {
      const window = loaded.get(tenantId);
      entries.set(tenantId, this.#cache.add(tenantId, window ?? emptyWindow(), partition, !!window, now));
    }
    metrics.windowCacheTenants.set(this.#cache.size);
    return entries;
  }

  /** Saves the dirty windows (of some partitions); a refused one drops its partition's windows. */
  async #flush(partitions?: ReadonlySet<number>): Promise<void> {
    const dirty = this.#cache.dirty(partitions);
    if (dirty.length === 0) return;
    const { metrics } = this.#deps;
    const started = performance.now();
    const refused = await this.#save(dirty);
    metrics.windowFlushDuration.observe((performance.now() - started) / 1000);
    metrics.windowsFlushed.observe(dirty.length);
    if (refused.size > 0) throw conflictError(...refused);
  }

  /** Least recently used windows beyond the bound leave the cache; a dirty one is saved first, not lost. */
  async #evictOverflow(): Promise<void> {
    const evicted = this.#cache.overflow();
    if (evicted.length === 0) return;
    this.#deps.metrics.windowCacheEvictions.inc(evicted.length);
    this.#deps.metrics.windowCacheTenants.set(this.#cache.size);
    await this.#save(evicted.filter(([tenantId]) => this.#cache.isDirty(tenantId)));
  }

  /**
   * Saves the windows, conditional on the versions the store last held. Returns the partitions of the windows the
   * store refused because another scorer wrote them: their windows are dropped and their next batch refused, so
   * they are rescored from the last commit. A window refused because its key expired is written afresh instead.
   */
  async #save(entries: readonly [string, CachedWindow][]): Promise<Set<number>> {
    let refused = await this.#write(entries);
    if (refused.length > 0) {
      const expired = await this.#expired(refused);
      if (expired.length > 0)
        refused = [...refused.filter((entry) => !expired.includes(entry)), ...(await this.#write(expired))];
    }
    const refusedPartitions = new Set(refused.map(([, entry]) => entry.partition));
    if (refusedPartitions.size > 0) {
      this.#dropPartitions(refusedPartitions);
      for (const partition of refusedPartitions) this.#conflicted.add(partition);
    }
    return refusedPartitions;
  }

  /** One conditional write per window, one round trip; returns the windows the store refused. */
  async #write(entries: readonly [string, CachedWindow][]): Promise<[string, CachedWindow][]> {
    if (entries.length === 0) return [];
    const writes: WindowWrite[] = entries.map(([tenantId, entry]) => ({
      tenantId,
      expected: entry.persisted ? entry.window : undefined,
      next: entry.window,
    }));
    const { conflicts } = await this.#storeSave(writes);
    const refused = new Set(conflicts);
    const now = this.#clock.now();
    for (const [tenantId, entry] of entries)
      if (!refused.has(tenantId)) this.#cache.markSaved(tenantId, entry, now);
    return entries.filter(([tenantId]) => refused.has(tenantId));
  }

  /**
   * Of the refused windows, those the store no longer holds (the key expired, or Redis evicted it), marked so that
   * their next write creates them. Read back, one round trip, per tenant: the rest of the partition is untouched.
   * Writing such a window again is safe: no scorer wrote the tenant since its key went (else the key would be
   * there), so nothing newer is overwritten; the cached window holds every event this scorer folded, in log order,
   * with its watermark; and the create is still conditional (on the key being absent), so a new owner of the
   * partition that created it meanwhile makes it refused, and the partition is rescored as for any other writer.
   * A window another scorer wrote is different: this scorer may have lost the partition (a zombie), so nothing it
   * cached of that partition is trusted any more.
   */
  async #expired(refused: readonly [string, CachedWindow][]): Promise<[string, CachedWindow][]> {
    const stored = await this.#storeLoad(refused.map(([tenantId]) => tenantId));
    const expired = refused.filter(([tenantId]) => !stored.has(tenantId));
    for (const [, entry] of expired) this.#cache.markExpired(entry);
    this.#deps.metrics.windowCacheExpiredSaves.inc(expired.length);
    return expired;
  }

  /** The store's load, timed (relayguard_store_duration_seconds). */
  async #storeLoad(tenantIds: readonly string[]): Promise<Map<string, TenantWindow>> {
    const done = this.#deps.metrics.storeDuration.startTimer({ operation: 'load' });
    const windows = await this.#deps.store.load(tenantIds);
    done();
    return windows;
  }

  /** The store's save, timed (relayguard_store_duration_seconds). */
  async #storeSave(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }> {
    const done = this.#deps.metrics.storeDuration.startTimer({ operation: 'save' });
    const result = await this.#deps.store.save(writes);
    done();
    return result;
  }

  #dropPartitions(partitions: ReadonlySet<number>): void {
    this.#cache.dropPartitions(partitions);
    this.#deps.metrics.windowCacheTenants.set(this.#cache.size);
  }

  async #decode(
    batch: RecordBatch,
  ): Promise<{ byTenant: Map<string, PositionedMessage[]>; deadLetters: Poison[] }> {
    const byTenant = new Map<string, PositionedMessage[]>();
    const deadLetters: Poison[] = [];
    // One await for the batch: a record that cannot be decoded comes back as its error, in its place.
    const decoded = await this.#deps.codec.decodeAll(
      Topics.messageSubmitted,
      batch.records.flatMap((record) => (record.value === null ? [] : [record.value])),
    );
    let next = 0;
    for (const record of batch.records) {
      let positioned: PositionedMessage;
      try {
        positioned = this.#validate(record, record.value === null ? null : decoded[next++]!);
      } catch (error) {
        if (!isRelayguardError(error) || error.retryable) throw error;
        deadLetters.push({ record, error });
        continue;
      }
      const { tenantId } = positioned.message;
      let messages = byTenant.get(tenantId);
      if (!messages) {
        messages = [];
        byTenant.set(tenantId, messages);
      }
      messages.push(positioned);
    }
    this.#awaitUnknownTenants(batch.partition, deadLetters);
    return { byTenant, deadLetters };
  }

  #validate(record: LogRecord, event: MessageSubmitted | RelayguardError | null): PositionedMessage {
    if (event === null) throw new RelayguardError('UNDECODABLE', 'the record has no value');
    if (isRelayguardError(event)) throw event;
    const message = validateMessage(event);
    if (record.key !== null && record.key !== message.tenantId) {
      // Keyed by tenant so a tenant's events share one partition, in order: anything else breaks the watermark.
      throw new RelayguardError(
        'INVALID_FIELD',
        `tenantId: the record key "${record.key.slice(0, 64)}" is not the event's tenant`,
        { field: 'tenantId' },
      );
    }
    if (!this.#deps.directory.tenant(message.tenantId)) {
      // Relays resolve tenants from connectors relayguard published: an unknown tenant is one this scorer's
      // directory has not caught up with (awaitUnknownTenants), or a misconfigured relay, and scoring it would
      // classify all its mail as unregistered.
      throw new RelayguardError(
        'UNKNOWN_TENANT',
        `tenantId: tenant "${message.tenantId.slice(0, 64)}" has no accepted domains or connectors`,
        { field: 'tenantId', details: { tenantId: message.tenantId } },
      );
    }
    this.#givenUp.delete(message.tenantId);
    checkEventTime(message.occurredAt, record.timestamp, this.#deps.maxClockSkewMs);
    return {
      position: { partition: record.partition, offset: record.offset },
      message,
      eventId: event.eventId,
      queueId: event.queueId,
    };
  }

  /**
   * Onboarding: a batch with events of tenants the directory does not know yet (and not given up on) is refused
   * with DIRECTORY_BEHIND, up to UNKNOWN_TENANT_ATTEMPTS times for the same first such record; then those
   * tenants are given up on and their events dead-lettered as UNKNOWN_TENANT, with no wait for their later ones.
   */
  #awaitUnknownTenants(partition: number, poison: readonly Poison[]): void {
    const unknown = poison.flatMap(({ record, error }) => {
      const tenantId = error.code === 'UNKNOWN_TENANT' ? String(error.details?.tenantId) : null;
      return tenantId === null || this.#givenUp.has(tenantId) ? [] : [{ record, tenantId }];
    });
    if (unknown.length === 0) return;
    const { offset } = unknown[0]!.record;
    const waiting = this.#waitingForTenant.get(partition);
    const attempts = waiting?.offset === offset ? waiting.attempts + 1 : 1;
    if (attempts < UNKNOWN_TENANT_ATTEMPTS) {
      this.#waitingForTenant.set(partition, { offset, attempts });
      throw new RelayguardError(
        'DIRECTORY_BEHIND',
        `tenantId: ${unknown.length} events of tenants not in the directory yet (attempt ${attempts} of ${UNKNOWN_TENANT_ATTEMPTS})`,
        { field: 'tenantId' },
      );
    }
    this.#waitingForTenant.delete(partition);
    if (this.#givenUp.size + unknown.length > GIVEN_UP_TENANTS) this.#givenUp.clear();
    for (const { tenantId } of unknown) this.#givenUp.add(tenantId);
  }

  /** Publishes the poison records, then counts and logs them (once: a batch that fails before is redelivered). */
  async #deadLetter(topic: string, poison: readonly Poison[]): Promise<void> {
    await this.#publish(
      Topics.messageSubmittedDlq,
      poison.map(({ record, error }) => deadLetter(topic, record, error)),
    );
    for (const { record, error } of poison) {
      this.#deps.metrics.deadLettered.inc({ reason: error.code });
      this.#deps.metrics.eventsConsumed.inc({ topic, outcome: 'dead-lettered' });
      this.#deps.logger.warn(
        { topic, partition: record.partition, offset: record.offset, reason: error.code, field: error.field },
        'poison event sent to the dead-letter topic',
      );
    }
  }

  async #publish(topic: string, records: OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.#deps.log.publish(topic, records);
      this.#deps.metrics.eventsProduced.inc({ topic, outcome: 'ok' }, records.length);
    } catch (error) {
      this.#deps.metrics.eventsProduced.inc({ topic, outcome: 'error' }, records.length);
      throw error;
    }
  }

  /**
   * A lifted block published again after its unblock (by a scorer whose directory had not seen the unblock yet)
   * is ignored by every directory, but it is the tenant's latest record: compaction would keep it and drop the
   * unblock, and a replica started after that would block the tenant again. The unblock is published again
   * behind it, once per such block by each scorer, with the same deterministic id.
   */
  async #reaffirmUnblocks(): Promise<void> {
    const lifted = this.#deps.directory.liftedBlocksLast();
    if (lifted.length === 0 && this.#reaffirmed.size === 0) return;
    const due = lifted.filter(({ tenantId, blockId }) => this.#reaffirmed.get(tenantId) !== blockId);
    const records = await Promise.all(
      due.map(async ({ tenantId, blockId, unblock: { unblockedAt, ...unblocked } }) => ({
        key: tenantId,
        value: await this.#deps.codec.encode(Topics.tenantBlocks, {
          eventId: `${blockId}~lifted`,
          tenantId,
          occurredAt: unblockedAt,
          kind: 'UNBLOCKED',
          blocked: null,
          unblocked,
        }),
      })),
    );
    await this.#publish(Topics.tenantBlocks, records);
    this.#reaffirmed.clear();
    for (const { tenantId, blockId } of lifted) this.#reaffirmed.set(tenantId, blockId);
    for (const { tenantId, blockId } of due)
      this.#deps.logger.warn(
        { tenantId, blockId },
        'a lifted block was published again after its unblock: the unblock is published again behind it',
      );
  }

  /** Publishes the blocks and logs each with the event that triggered it (topic/partition/offset, ids). */
  async #publishBlocks(
    sourceTopic: string,
    emits: readonly TenantBlockEvent[],
    triggers: ReadonlyMap<string, BlockTrigger>,
  ): Promise<void> {
    const records = await Promise.all(
      emits.map(async (event) => ({
        key: event.tenantId,
        value: await this.#deps.codec.encode(Topics.tenantBlocks, event),
      })),
    );
    await this.#publish(Topics.tenantBlocks, records);
    for (const event of emits) {
      const blocked = event.blocked!;
      this.#deps.metrics.blocksIssued.inc({ source: 'policy', mode: blocked.mode });
      const trigger = triggers.get(blocked.blockId);
      this.#deps.logger.info(
        {
          topic: sourceTopic,
          partition: trigger?.position.partition,
          offset: trigger?.position.offset,
          eventId: trigger?.eventId,
          queueId: trigger?.queueId,
          tenantId: event.tenantId,
          blockId: blocked.blockId,
          mode: blocked.mode,
          reason: blocked.reason,
          unregistered: blocked.evidence.unregistered,
          total: blocked.evidence.total,
          distinctDomains: blocked.evidence.distinctUnregisteredDomains,
        },
        'tenant blocked from sending from unregistered domains',
      );
    }
  }
}

/** A record the scorer dead-letters, and why. */
interface Poison {
  readonly record: LogRecord;
  readonly error: RelayguardError;
}

function conflictError(...partitions: number[]): RelayguardError {
  return new RelayguardError(
    'WRITE_CONFLICT',
    `partition ${partitions.join(', ')}: a window changed under this scorer (another owned the partition); rescoring from the last commit`,
  );
}
