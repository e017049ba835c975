// The scorer's first step: a batch's records decoded (one await for the batch), validated and grouped by tenant in
// log order; the poison ones set aside for the dead-letter topic with their reason. Onboarding lives here too: an
// event of a tenant the directory does not know yet has its batch refused a few times before it is poison.
import { REPEATED_FIELDS, SCORED_FIELDS, type ScoredEvent, validateMessage } from '../core/classify.js';
import type { ScoringDirectory } from '../core/directory.js';
import { isRelayguardError, RelayguardError } from '../core/errors.js';
import { checkEventTime } from '../core/event-time.js';
import { type PositionedMessage, positioned } from '../core/scoring.js';
import { Topics } from '../core/topics.js';
import type { LogRecord, RecordBatch, SchemaCodec } from '../platform/ports.js';
import type { PartitionSlice } from './scorer.js';

/**
 * How often a batch holding an event of a tenant the directory does not know yet is refused (and redelivered
 * after the log's back-off: about 16 s on Kafka) before the event is dead-lettered as UNKNOWN_TENANT.
 */
export const UNKNOWN_TENANT_ATTEMPTS = 8;
/** Unknown tenants whose events are dead-lettered at once (they waited in vain already), at most. */
const GIVEN_UP_TENANTS = 10_000;

/** A record the scorer dead-letters, and why. */
export interface Poison {
  readonly record: LogRecord;
  readonly error: RelayguardError;
}

export interface DecodedBatch {
  /** Each tenant's events, in log order. */
  readonly byTenant: Map<string, PositionedMessage[]>;
  readonly deadLetters: Poison[];
}

export class BatchDecoder {
  readonly #codec: SchemaCodec;
  readonly #directory: ScoringDirectory;
  readonly #maxClockSkewMs: number;
  /**
   * Onboarding: a relay resolves a tenant from connectors the admin service just published, and this scorer's
   * directory may not have them yet. The batch is refused and redelivered a few times, by partition: the offset
   * of the record waited for, and the attempts so far. A tenant still unknown after that is dead-lettered (the
   * DLQ record can be published again once the tenant exists), and its later events are at once (givenUp).
   */
  readonly #waitingForTenant = new Map<number, { offset: string; attempts: number }>();
  readonly #givenUp = new Set<string>();
  /** A directory of some partitions' tenants only: it loads those it lacks (by name) before they are unknown. */
  readonly #slice: Pick<PartitionSlice, 'awaits'> | undefined;

  constructor(
    codec: SchemaCodec,
    directory: ScoringDirectory,
    maxClockSkewMs: number,
    slice?: Pick<PartitionSlice, 'awaits'>,
  ) {
    this.#codec = codec;
    this.#directory = directory;
    this.#maxClockSkewMs = maxClockSkewMs;
    this.#slice = slice;
  }

  /** Throws a retryable error (the batch is redelivered) when the registry fails or a tenant is awaited. */
  async decode(batch: RecordBatch): Promise<DecodedBatch> {
    const byTenant = new Map<string, PositionedMessage[]>();
    const deadLetters: Poison[] = [];
    // One await for the batch: a record that cannot be decoded comes back as its error, in its place. Only the
    // fields scoring reads are decoded; the others are skipped (their values are neither read nor checked).
    const values: Buffer[] = [];
    for (const record of batch.records) if (record.value !== null) values.push(record.value);
    const decoded = await this.#codec.decodeFields(
      Topics.messageSubmitted,
      values,
      SCORED_FIELDS,
      REPEATED_FIELDS,
    );
    let next = 0;
    for (const record of batch.records) {
      let message: PositionedMessage;
      try {
        message = this.#validate(record, record.value === null ? null : decoded[next++]!);
      } catch (error) {
        if (!isRelayguardError(error) || error.retryable) throw error;
        deadLetters.push({ record, error });
        continue;
      }
      // Most tenants have one event in a batch: a list made with it holds one slot, where an empty list's first
      // push reserves seventeen.
      const { tenantId } = message;
      const messages = byTenant.get(tenantId);
      if (messages) messages.push(message);
      else byTenant.set(tenantId, [message]);
    }
    this.#awaitUnknownTenants(batch.partition, deadLetters);
    return { byTenant, deadLetters };
  }
  #validate(record: LogRecord, event: ScoredEvent | RelayguardError | null): PositionedMessage {
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
    if (!this.#directory.tenant(message.tenantId)) {
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
    checkEventTime(message.occurredAt, record.timestamp, this.#maxClockSkewMs);
    return positioned(message, record, event.eventId, event.queueId);
  }

  /**
   * A scorer's slice loads the tenants it lacks first (their batch is refused meanwhile). Then onboarding: a batch
   * with events of tenants the directory does not know yet (and not given up on) is refused with DIRECTORY_BEHIND,
   * up to UNKNOWN_TENANT_ATTEMPTS times for the same first such record; then those tenants are given up on and
   * their events dead-lettered as UNKNOWN_TENANT, with no wait for their later ones.
   */
  #awaitUnknownTenants(partition: number, poison: readonly Poison[]): void {
    const missing = poison.flatMap(({ record, error }) =>
      error.code === 'UNKNOWN_TENANT' ? [{ record, tenantId: String(error.details?.tenantId) }] : [],
    );
    if (
      missing.length > 0 &&
      this.#slice?.awaits(
        missing.map(({ tenantId }) => tenantId),
        partition,
      )
    ) {
      throw new RelayguardError(
        'DIRECTORY_BEHIND',
        `partition ${partition}: the directory is loading tenants of this batch; it comes again`,
      );
    }
    const unknown = missing.filter(({ tenantId }) => !this.#givenUp.has(tenantId));
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
}
