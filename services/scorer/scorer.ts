// The scorer: consumes MessageSubmitted in batches, folds each tenant's events into its window (services/core),
// publishes block decisions, then stores the windows with the applied log position, then lets the offsets be
// committed. A crash anywhere replays the batch; the stored position makes the replay count nothing twice.
import { validateMessage } from '../core/classify.js';
import type { TenantBlockEvent } from '../core/contracts.generated.js';
import { isEnforcedBlock, probationUntil, type TenantDirectory } from '../core/directory.js';
import { isRelayguardError, RelayguardError } from '../core/errors.js';
import type { Policy } from '../core/policy.js';
import {
  type BlockTrigger,
  foldTenant,
  type PositionedMessage,
  type TenantContext,
} from '../core/scoring.js';
import { Topics } from '../core/topics.js';
import { emptyWindow, resetWindow, type TenantWindow } from '../core/windows.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type {
  Clock,
  EventLog,
  LogRecord,
  OutgoingRecord,
  RecordBatch,
  SchemaCodec,
  Subscription,
  WindowStore,
  WindowWrite,
} from '../platform/ports.js';
import { deadLetter } from './dead-letter.js';

export const SCORER_GROUP = 'relayguard-scorer';
export const RESET_GROUP = 'relayguard-scorer-resets';

export interface ScorerDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly store: WindowStore;
  readonly directory: TenantDirectory;
  readonly policy: Policy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Events stamped further ahead of the clock than this are poison (a relay with a broken clock). */
  readonly maxClockSkewMs: number;
  readonly maxBatchSize?: number;
}

/** What the fold reads about tenants, from the materialized directory (the benchmarks score with it too). */
export function scoringContext(directory: TenantDirectory): TenantContext {
  return {
    acceptedDomain: (tenantId, domain) => directory.acceptedDomain(tenantId, domain),
    policyOverrides: (tenantId) => directory.tenant(tenantId)?.policy,
    probationUntil: (tenantId) => probationUntil(directory.tenant(tenantId)),
    connectorCreatedAt: (tenantId, connectorId) =>
      directory.connector(tenantId, connectorId)?.createdAt ?? null,
    isBlocked: (tenantId) => isEnforcedBlock(directory.tenant(tenantId)),
  };
}

export class Scorer {
  readonly #deps: ScorerDeps;
  readonly #context: TenantContext;
  #subscriptions: Subscription[] = [];

  constructor(deps: ScorerDeps) {
    this.#deps = deps;
    this.#context = scoringContext(deps.directory);
  }

  async start(): Promise<void> {
    const { log, logger } = this.#deps;
    const onBatchError = (error: unknown, batch: RecordBatch) =>
      logger.warn(
        { err: error, topic: batch.topic, partition: batch.partition },
        'batch failed; it will be retried',
      );
    // Joined side by side: each new group costs the broker's initial rebalance delay.
    this.#subscriptions = await Promise.all([
      log.subscribe({
        groupId: SCORER_GROUP,
        topics: [Topics.messageSubmitted],
        maxBatchSize: this.#deps.maxBatchSize ?? 500,
        handleBatch: (batch) => this.handleBatch(batch),
        onBatchError,
      }),
      log.subscribe({
        groupId: RESET_GROUP,
        topics: [Topics.tenantBlocks],
        handleBatch: (batch) => this.#handleUnblocks(batch),
        onBatchError,
      }),
    ]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#subscriptions.map((subscription) => subscription.stop()));
    this.#subscriptions = [];
  }

  /** Scores one batch of one partition. Throws (and the batch is redelivered) on any retryable failure. */
  async handleBatch(batch: RecordBatch): Promise<void> {
    const { metrics, store } = this.#deps;
    const started = performance.now();
    const { byTenant, deadLetters } = await this.#decode(batch);

    const loadTimer = metrics.storeDuration.startTimer({ operation: 'load' });
    const windows = await store.load([...byTenant.keys()]);
    loadTimer();

    const writes: WindowWrite[] = [];
    const emits: TenantBlockEvent[] = [];
    const triggers = new Map<string, BlockTrigger>();
    const outcomes = new Map<string, number>();
    // Tallied per batch and added to the metric once per class: a labelled inc per event costs a label hash.
    const classified = new Map<string, number>();
    for (const [tenantId, messages] of byTenant) {
      const expected = windows.get(tenantId);
      // The loaded window is this batch's own copy, folded in place; the store remembers what it loaded, so
      // `expected` still stands for the stored version in the save below.
      const result = foldTenant(
        expected ?? emptyWindow(),
        tenantId,
        messages,
        this.#deps.policy,
        this.#context,
      );
      emits.push(...result.emits);
      for (const [blockId, trigger] of result.triggers) triggers.set(blockId, trigger);
      writes.push({ tenantId, expected, next: result.window });
      result.outcomes.forEach((outcome, i) => {
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome === 'duplicate') return;
        const messageClass = result.classes[i]!;
        classified.set(messageClass, (classified.get(messageClass) ?? 0) + 1);
      });
    }
    for (const [messageClass, count] of classified)
      metrics.messagesClassified.inc({ class: messageClass }, count);

    // Publish before storing: a crash in between re-derives the same block (same id) on replay; the reverse
    // order could store "blocked" and lose the event.
    await this.#publish(Topics.messageSubmittedDlq, deadLetters);
    await this.#publishBlocks(batch.topic, emits, triggers);

    const saveTimer = metrics.storeDuration.startTimer({ operation: 'save' });
    const { conflicts } = await store.save(writes);
    saveTimer();
    if (conflicts.length > 0) {
      throw new RelayguardError(
        'WRITE_CONFLICT',
        `${conflicts.length} tenant windows changed under this batch; rescoring`,
      );
    }

    for (const [outcome, count] of outcomes)
      metrics.eventsConsumed.inc({ topic: batch.topic, outcome }, count);
    metrics.lateEvents.inc(outcomes.get('late') ?? 0);
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, batch.lag);
    metrics.batchSize.observe(batch.records.length);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
  }

  async #decode(
    batch: RecordBatch,
  ): Promise<{ byTenant: Map<string, PositionedMessage[]>; deadLetters: OutgoingRecord[] }> {
    const byTenant = new Map<string, PositionedMessage[]>();
    const deadLetters: OutgoingRecord[] = [];
    const horizon = this.#deps.clock.now() + this.#deps.maxClockSkewMs;
    for (const record of batch.records) {
      let positioned: PositionedMessage;
      try {
        positioned = await this.#validate(record, horizon);
      } catch (error) {
        if (!isRelayguardError(error) || error.retryable) throw error;
        deadLetters.push(deadLetter(batch.topic, record, error));
        this.#deps.metrics.deadLettered.inc({ reason: error.code });
        this.#deps.metrics.eventsConsumed.inc({ topic: batch.topic, outcome: 'dead-lettered' });
        this.#deps.logger.warn(
          {
            topic: batch.topic,
            partition: record.partition,
            offset: record.offset,
            reason: error.code,
            field: error.field,
          },
          'poison event sent to the dead-letter topic',
        );
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
    return { byTenant, deadLetters };
  }

  async #validate(record: LogRecord, horizon: number): Promise<PositionedMessage> {
    if (record.value === null) throw new RelayguardError('UNDECODABLE', 'the record has no value');
    const event = await this.#deps.codec.decode(Topics.messageSubmitted, record.value);
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
      // Relays resolve tenants from connectors relayguard published: an unknown tenant is a misconfigured relay,
      // and scoring it would classify all its mail as unregistered. Dead-lettered, it can be replayed once known.
      throw new RelayguardError(
        'UNKNOWN_TENANT',
        `tenantId: tenant "${message.tenantId.slice(0, 64)}" has no accepted domains or connectors`,
        { field: 'tenantId' },
      );
    }
    if (message.occurredAt > horizon) {
      throw new RelayguardError(
        'FUTURE_EVENT',
        `occurredAt: ${new Date(message.occurredAt).toISOString()} is ahead of this scorer's clock by more than the allowed skew`,
        { field: 'occurredAt' },
      );
    }
    return {
      position: { partition: record.partition, offset: record.offset },
      message,
      eventId: event.eventId,
      queueId: event.queueId,
    };
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

  /** An unblock clears the tenant's window up to the unblock time, so a new block needs new evidence. */
  async #handleUnblocks(batch: RecordBatch): Promise<void> {
    const resets = new Map<string, number>();
    for (const record of batch.records) {
      if (record.value === null) continue;
      const event = await this.#deps.codec.decode(Topics.tenantBlocks, record.value);
      if (event.kind === 'UNBLOCKED') resets.set(event.tenantId, event.occurredAt);
    }
    if (resets.size === 0) return;
    const { metrics, store } = this.#deps;
    const loadTimer = metrics.storeDuration.startTimer({ operation: 'load' });
    const windows = await store.load([...resets.keys()]);
    loadTimer();
    const writes: WindowWrite[] = [];
    for (const [tenantId, at] of resets) {
      const expected: TenantWindow | undefined = windows.get(tenantId);
      if (!expected) continue;
      // Reset in place, as the fold does: the store knows the version `expected` was loaded at.
      if (resetWindow(expected, at)) writes.push({ tenantId, expected, next: expected });
    }
    const saveTimer = metrics.storeDuration.startTimer({ operation: 'save' });
    const { conflicts } = await store.save(writes);
    saveTimer();
    if (conflicts.length > 0)
      throw new RelayguardError('WRITE_CONFLICT', 'a window changed during its reset; retrying');
  }
}
