// Drives one scorer through the orders in which a tenant's block episode can unfold: its mail arrives, batches
// fail and are redelivered from the last commit, the scorer is killed before its write-behind flush and a new one
// replays, the operator lifts the block, and the scorer's directory learns of block events only when the test says
// so (a directory feed that lags). Everything is on the memory adapters and called in turn: no timing decides.
import { tenantChanges, tenantId } from '../../bench/workload.js';
import type { MessageSubmitted, TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { TenantDirectory } from '../../services/core/directory.js';
import { RelayguardError } from '../../services/core/errors.js';
import { DEFAULT_POLICY, MINUTE_MS, type Policy } from '../../services/core/policy.js';
import { Topics } from '../../services/core/topics.js';
import { ManualClock } from '../../services/platform/clock.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { type Logger, silentLogger } from '../../services/platform/logger.js';
import { MemoryEventLog } from '../../services/platform/memory/memory-event-log.js';
import { MemoryWindowStore } from '../../services/platform/memory/memory-window-store.js';
import { Metrics } from '../../services/platform/metrics.js';
import type {
  LogRecord,
  RecordBatch,
  StoredWindow,
  WindowStore,
  WindowWrite,
} from '../../services/platform/ports.js';
import { Scorer } from '../../services/scorer/scorer.js';
import { messageSubmitted } from './builders.js';

export const TENANT = tenantId(0);
export const START = Date.UTC(2026, 10, 28, 9);

/** Small thresholds, so that a handful of events block: five unregistered messages, a quarter of the volume. */
export const EPISODE_POLICY: Policy = {
  ...DEFAULT_POLICY,
  thresholds: {
    minUnregistered: 5,
    minUnregisteredRatio: 0.25,
    minDistinctDomains: 1000,
    minUnregisteredWithDistinct: 1000,
  },
};

/** A window store whose next load or save fails once, as Redis does when a connection drops. */
class FlakyStore implements WindowStore {
  readonly inner: MemoryWindowStore;
  failNext: 'load' | 'save' | null = null;

  constructor(inner: MemoryWindowStore) {
    this.inner = inner;
  }

  get ttlMs(): number {
    return this.inner.ttlMs;
  }

  #fail(operation: 'load' | 'save'): void {
    if (this.failNext !== operation) return;
    this.failNext = null;
    throw new RelayguardError('STORE_UNAVAILABLE', `window store ${operation} failed (injected)`);
  }

  async load(tenantIds: readonly string[]): Promise<Map<string, StoredWindow>> {
    this.#fail('load');
    return this.inner.load(tenantIds);
  }

  /** A version read is a load to fail (the same round trip's kind). */
  async versions(tenantIds: readonly string[]): Promise<Map<string, string>> {
    this.#fail('load');
    return this.inner.versions(tenantIds);
  }

  async save(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }> {
    this.#fail('save');
    return this.inner.save(writes);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export class EpisodeDriver {
  readonly clock = new ManualClock(START);
  readonly codec = new EmbeddedCodec();
  /** Where the scorer publishes blocks and the operator's unblocks go: the tenant-blocks topic. */
  readonly log = new MemoryEventLog({ clock: this.clock, partitions: 1 });
  readonly store = new FlakyStore(new MemoryWindowStore({ clock: this.clock, ttlMs: 2 * 86_400_000 }));
  /** The scorer's directory: block events reach it only through feed(). */
  readonly directory = new TenantDirectory();
  /** The message-submitted partition the tenant's events live in. */
  readonly records: LogRecord[] = [];
  readonly events: MessageSubmitted[] = [];
  readonly policy: Policy;
  scorer: Scorer;
  /** Offsets: the next to hand the scorer, and the group's committed one (a redelivery starts there). */
  delivered = 0;
  committed = 0;
  #fed = 0;

  readonly #commitIntervalMs: number;

  /** `commitIntervalMs` 0: the scorer saves at the end of every batch instead of at flush (write-behind). */
  readonly #logger: Logger;

  readonly #keyPartition: ((key: string) => number) | undefined;

  constructor(
    options: {
      policy?: Policy;
      commitIntervalMs?: number;
      logger?: Logger;
      /** The partition producers give a key under RELAYGUARD_PARTITIONS (the scorer's `keyPartition`). */
      keyPartition?: (key: string) => number;
    } = {},
  ) {
    this.policy = options.policy ?? EPISODE_POLICY;
    this.#keyPartition = options.keyPartition;
    this.#logger = options.logger ?? silentLogger;
    this.#commitIntervalMs = options.commitIntervalMs ?? 1_000;
    for (const change of tenantChanges(0)) this.directory.apply(change);
    this.scorer = this.newScorer();
  }

  /** A scorer on this driver's log and store; another process's has its own directory. */
  newScorer(directory: TenantDirectory = this.directory): Scorer {
    return new Scorer({
      log: this.log,
      codec: this.codec,
      store: this.store,
      directory,
      policy: this.policy,
      logger: this.#logger,
      metrics: new Metrics({ processMetrics: false }),
      maxClockSkewMs: MINUTE_MS,
      commitIntervalMs: this.#commitIntervalMs,
      keyPartition: this.#keyPartition,
    });
  }

  /**
   * Relays publish `spam` unregistered and `registered` registered messages at `at` (one per second after it), on
   * the connectors given (onprem-1 unless told).
   */
  async send(
    at: number,
    spam: number,
    registered = 0,
    { spamOn = 'onprem-1', registeredOn = 'onprem-1' } = {},
  ): Promise<void> {
    const events = [
      ...Array.from({ length: spam }, () => [`offer${this.events.length % 3}.example`, spamOn] as const),
      ...Array.from({ length: registered }, () => [`${TENANT}.example`, registeredOn] as const),
    ].map(([domain, connectorId], i) =>
      messageSubmitted({
        tenantId: TENANT,
        occurredAt: at + i * 1_000,
        envelopeSenderDomain: domain,
        connectorId,
      }),
    );
    for (const event of events) await this.publish(event, event.occurredAt);
  }

  /** One event, in a record the broker appended at `recordTime`. */
  async publish(event: MessageSubmitted, recordTime: number): Promise<void> {
    this.records.push({
      key: event.tenantId,
      value: await this.codec.encode(Topics.messageSubmitted, event),
      headers: {},
      partition: 0,
      offset: String(this.records.length),
      timestamp: recordTime,
    });
    this.events.push(event);
    this.clock.set(Math.max(this.clock.now(), recordTime));
  }

  /** Records the scorer sent to the dead-letter topic, with their reasons. */
  deadLettered(): string[] {
    return this.log
      .records(Topics.messageSubmittedDlq)
      .map((record) => record.headers['relayguard.dlq.error.code']!);
  }

  /** The records from `from` to the end, as one batch of the tenant's partition. */
  batch(from: number): RecordBatch {
    return { topic: Topics.messageSubmitted, partition: 0, records: this.records.slice(from), lag: 0 };
  }

  /** Hands the scorer the next `max` records; a failure has them delivered again from the last commit. */
  async deliver(max = Number.POSITIVE_INFINITY): Promise<'ok' | 'failed' | 'idle'> {
    const batch = this.records.slice(this.delivered, this.delivered + max);
    if (batch.length === 0) return 'idle';
    try {
      await this.scorer.handleBatch({ topic: Topics.messageSubmitted, partition: 0, records: batch, lag: 0 });
    } catch {
      this.delivered = this.committed;
      return 'failed';
    }
    this.delivered += batch.length;
    return 'ok';
  }

  /** The write-behind flush, then the commit of what it covered (what the Kafka log does at its interval). */
  async flush(): Promise<'ok' | 'failed'> {
    try {
      const { redeliver } = await this.scorer.flush();
      if (redeliver.length > 0) this.delivered = this.committed;
      else this.committed = this.delivered;
      return 'ok';
    } catch {
      return 'failed';
    }
  }

  /** The scorer process dies (its cache and unflushed windows with it); a new one resumes from the commit. */
  crash(): void {
    this.scorer = this.newScorer();
    this.delivered = this.committed;
  }

  /** The scorer's directory feed catches up with the tenant-blocks topic. */
  async feed(): Promise<void> {
    const records = this.log.records(Topics.tenantBlocks);
    for (; this.#fed < records.length; this.#fed++)
      this.directory.apply({ kind: 'tenant-block', event: await this.#decode(records[this.#fed]!) });
  }

  /**
   * The operator lifts the block in force (none: nothing happens), as the admin service sees it: its own directory
   * may be ahead of the scorer's, which learns of the unblock at its next feed.
   */
  async unblock(at: number): Promise<boolean> {
    const block = replayedDirectory(await this.blockEvents()).tenant(TENANT)?.block;
    if (block?.mode !== 'ENFORCE') return false;
    this.clock.set(Math.max(this.clock.now(), at));
    const event: TenantBlockEvent = {
      eventId: `unblock-${at}`,
      tenantId: TENANT,
      occurredAt: at,
      kind: 'UNBLOCKED',
      blocked: null,
      unblocked: {
        blockId: block.blockId,
        source: 'OPERATOR',
        actor: 'operator#1',
        ticket: 'SUP-1',
        attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
        probationUntil: null,
      },
    };
    await this.log.publish(Topics.tenantBlocks, [
      { key: TENANT, value: await this.codec.encode(Topics.tenantBlocks, event) },
    ]);
    return true;
  }

  /**
   * A block published before is published again, as a zombie scorer or a rebuild does (the `pick`-th block
   * record, modulo their number; none yet: nothing happens).
   */
  async republishBlock(pick: number): Promise<void> {
    const blocks = (await this.blockEvents()).filter((event) => event.kind === 'BLOCKED');
    if (blocks.length === 0) return;
    const event = blocks[pick % blocks.length]!;
    await this.log.publish(Topics.tenantBlocks, [
      { key: TENANT, value: await this.codec.encode(Topics.tenantBlocks, event) },
    ]);
  }

  /** Everything published to the tenant-blocks topic, in order. */
  async blockEvents(): Promise<TenantBlockEvent[]> {
    return Promise.all(this.log.records(Topics.tenantBlocks).map((record) => this.#decode(record)));
  }

  #decode(record: LogRecord): Promise<TenantBlockEvent> {
    return this.codec.decode(Topics.tenantBlocks, record.value!);
  }
}

/** A directory that read the whole tenant-blocks topic from the beginning (a new enforcer replica). */
export function replayedDirectory(events: readonly TenantBlockEvent[]): TenantDirectory {
  const directory = new TenantDirectory();
  for (const event of events) directory.apply({ kind: 'tenant-block', event });
  return directory;
}
