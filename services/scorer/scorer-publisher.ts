// What the scorer publishes: dead letters, block decisions (each logged with the event that triggered it), and a
// tenant's state again behind a block every directory ignores that became its latest record. Counted in the
// scorer's metrics as they go out.
import type { TenantBlockEvent } from '../core/contracts.generated.js';
import type { ScoringDirectory } from '../core/directory.js';
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
  readonly directory: ScoringDirectory;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class ScorerPublisher {
  readonly #deps: ScorerPublisherDeps;
  /** The ignored latest record (its `seen`) this scorer last published a tenant's state behind (reaffirmStates). */
  readonly #reaffirmed = new Map<string, number>();
  /**
   * Tenants this scorer published a block for since its last reaffirmation: that block follows the ignored record
   * its directory may still show last, and supersedes it; the state the directory holds is older than that block.
   */
  readonly #blockedSince = new Set<string>();

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
   * A record every directory ignores can be a tenant's latest: a lifted block published again after its unblock, or
   * the connector block a tenant block widened published again after it (by a scorer whose directory had not seen
   * what superseded it, a zombie, a rebuild), or an unblock older than the block in force. Compaction would keep it
   * and drop the records before it, and a replica started after that would hold what it says. The tenant's state
   * (the block in force, else the unblock) is published again behind it, once per such record by each scorer, with
   * a deterministic id.
   */
  async reaffirmStates(): Promise<void> {
    const stale = this.#deps.directory.staleBlocksLast();
    const blockedSince = new Set(this.#blockedSince);
    this.#blockedSince.clear();
    if (stale.length === 0 && this.#reaffirmed.size === 0) return;
    const due = stale.filter(
      ({ tenantId, seen }) => this.#reaffirmed.get(tenantId) !== seen && !blockedSince.has(tenantId),
    );
    const records = await Promise.all(
      due.map(async ({ tenantId, reaffirmation }) => ({
        key: tenantId,
        value: await this.#deps.codec.encode(Topics.tenantBlocks, reaffirmation),
      })),
    );
    await this.#publish(Topics.tenantBlocks, records);
    this.#reaffirmed.clear();
    for (const { tenantId, seen } of stale) this.#reaffirmed.set(tenantId, seen);
    for (const { tenantId, blockId, reaffirmation } of due)
      this.#deps.logger.warn(
        { tenantId, blockId, reaffirmed: reaffirmation.blocked?.blockId ?? reaffirmation.unblocked?.blockId },
        reaffirmation.kind === 'BLOCKED'
          ? "a record every directory ignores is the tenant's latest: the block in force is published again behind it"
          : 'a lifted block was published again after its unblock: the unblock is published again behind it',
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
      this.#blockedSince.add(event.tenantId);
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
