// What the scorer publishes: dead letters, block decisions (each logged with the event that triggered it), and an
// unblock again behind a lifted block published after it. Counted in the scorer's metrics as they go out.
import type { TenantBlockEvent } from '../core/contracts.generated.js';
import type { TenantDirectory } from '../core/directory.js';
import type { BlockTrigger } from '../core/scoring.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { EventLog, OutgoingRecord, SchemaCodec } from '../platform/ports.js';
import type { Poison } from './batch-decoder.js';
import { deadLetter } from './dead-letter.js';

export interface ScorerPublisherDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly directory: TenantDirectory;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class ScorerPublisher {
  readonly #deps: ScorerPublisherDeps;
  /** The lifted blocks this scorer published an unblock behind, by tenant (see reaffirmUnblocks). */
  readonly #reaffirmed = new Map<string, string>();

  constructor(deps: ScorerPublisherDeps) {
    this.#deps = deps;
  }

  /** Publishes the poison records, then counts and logs them (once: a batch that fails before is redelivered). */
  async deadLetter(topic: string, poison: readonly Poison[]): Promise<void> {
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
  async reaffirmUnblocks(): Promise<void> {
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
  async publishBlocks(
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
