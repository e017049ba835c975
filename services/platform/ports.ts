// The ports relayguard's services depend on, in relayguard's own words: no kafkajs or ioredis type crosses
// them. Each has an in-memory adapter (embedded mode, fast tests) and a production adapter, and one contract
// suite in test/contract/ runs against both.

import type { RelayguardError } from '../core/errors.js';
import type { ContractTopic, TopicContracts } from '../core/topics.js';
import type { TenantWindow, WindowChanges } from '../core/windows.js';

export interface OutgoingRecord {
  readonly key: string;
  /** Null: a tombstone, which tells a compacted topic's cleaner to forget the key (after `delete.retention.ms`). */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LogRecord {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly partition: number;
  /** Kafka offsets are int64: kept as decimal strings. */
  readonly offset: string;
  /** Broker or producer timestamp, epoch milliseconds. */
  readonly timestamp: number;
}

export interface RecordBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
  /** Records left in the partition after this batch when it was fetched. */
  readonly lag: number;
}

/** Records per `handleBatch` call unless a subscription says otherwise (the scorer loads its cache misses per call). */
export const DEFAULT_MAX_BATCH_SIZE = 500;

export interface ConsumeOptions {
  /**
   * A consumer group shares the partitions among its members and commits offsets. Null: this instance reads
   * every partition from the beginning and commits nothing (materializers of compacted topics).
   */
  readonly groupId: string | null;
  readonly topics: readonly string[];
  /**
   * A group-less reader's first offsets (the next record to hand over) for these partitions; the others are read
   * from the beginning. An offset beyond its partition's end (the topic was made again since the offset was read)
   * is refused: `subscribe` rejects with INVALID_FIELD.
   */
  readonly startOffsets?: readonly PartitionOffset[];
  /** Most records handed to one `handleBatch` call; DEFAULT_MAX_BATCH_SIZE when absent. */
  readonly maxBatchSize?: number;
  /**
   * How long a fetch may wait on the broker for records, when this subscription needs a shorter wait than the
   * log's (a low-volume topic whose records must arrive at once). Logs without fetches ignore it.
   */
  readonly maxWaitTimeMs?: number;
  /**
   * Called with records of one partition in offset order. Offsets are committed only after it resolves (and, with
   * `flush`, after a flush that followed it); when it throws, the partition's records are delivered again from
   * its last committed offset (after a back-off), so it must be idempotent.
   */
  handleBatch(batch: RecordBatch): Promise<void>;
  /** Called when a batch failed, before it is retried. */
  onBatchError?(error: unknown, batch: RecordBatch): void;
  /**
   * Write-behind state (a handler that keeps what batches did in memory): called, never alongside
   * `handleBatch`, every `commitIntervalMs` (or when caught up) while batches were handled since the last commit, before
   * partitions are given away in a rebalance, and on stop. The offsets of the batches handled before it are
   * committed only once it resolves, except those of the partitions it names to redeliver (their effects were
   * lost: they are delivered again from their last commit); when it throws nothing is committed (the next
   * flush tries again).
   */
  flush?(): Promise<{ readonly redeliver: readonly PartitionRef[] }>;
  /**
   * With `flush`: how often to flush and commit while a backlog is consumed; a subscription that reached the
   * end of its partitions flushes and commits at once. Without `flush`, offsets are committed after every batch.
   */
  readonly commitIntervalMs?: number;
  /**
   * Partitions this member no longer owns (a rebalance gave them to another): whatever the handler keeps for
   * them is stale from now on. Called never alongside `handleBatch` or `flush`.
   */
  onRevoked?(partitions: readonly PartitionRef[]): Promise<void>;
  /**
   * Partitions this member was given and did not own before (all of them at its first join, and after it was
   * expelled from the group): called once per assignment, after `onRevoked` of the same rebalance, before any
   * batch of these partitions is handled, never alongside `handleBatch` or `flush`. Not awaited: the first fetch
   * goes on meanwhile, so a handler can start slow work (loading what the partitions need) at once.
   */
  onAssigned?(partitions: readonly PartitionRef[]): void;
}

export interface PartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** The next offset of a partition, as a decimal string. */
export interface PartitionOffset extends PartitionRef {
  readonly offset: string;
}

export interface Subscription {
  /**
   * Resolves once every partition has been consumed (and committed, for a group) up to the end offset it had
   * when the subscription began.
   */
  readonly caughtUp: Promise<void>;
  /** Finishes the batch in hand, flushes, commits, leaves the group. */
  stop(): Promise<void>;
}

export interface EventLog {
  /** Resolves when every record is durably written (acks=all in Kafka). */
  publish(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  subscribe(options: ConsumeOptions): Promise<Subscription>;
  /**
   * Resolves once every subscription of this client has handled (and committed, flushing write-behind state now
   * rather than at its interval) every record its topics held, including records its handlers published
   * meanwhile: tests, simulations and tools wait on it instead of on a timer.
   */
  settled(): Promise<void>;
  /**
   * Throws INVALID_CONFIG naming every topic of `access` whose Read or Write, and every group whose Read, the
   * log's principal lacks (Kafka ACLs): checked at startup, before anything consumes or produces. Logs without
   * permissions have none.
   */
  verifyAccess?(access: LogAccess): Promise<void>;
  close(): Promise<void>;
}

/** The topics a service consumes and those it produces to; the consumer groups it joins by name. */
export interface LogAccess {
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly groups: readonly string[];
}

export interface SchemaCodec {
  /** Confluent wire format: magic byte 0, 4-byte schema id, Avro binary. */
  encode<T extends ContractTopic>(topic: T, value: TopicContracts[T]): Promise<Buffer>;
  /** Throws a RelayguardError: UNDECODABLE, UNKNOWN_SCHEMA_ID or SCHEMA_MISMATCH (poison), REGISTRY_UNAVAILABLE (retry). */
  decode<T extends ContractTopic>(topic: T, bytes: Buffer): Promise<TopicContracts[T]>;
  /**
   * A batch with one await, not one per record (which costs more than decoding the record): for each value, in
   * order, the decoded event or the poison error decode would throw for it. Rejects when the batch must be
   * retried (REGISTRY_UNAVAILABLE).
   */
  decodeAll<T extends ContractTopic>(
    topic: T,
    values: readonly Buffer[],
  ): Promise<(TopicContracts[T] | RelayguardError)[]>;
  /**
   * decodeAll through a reader schema of only `fields` (Avro schema resolution): the writer's other fields are
   * skipped, neither decoded nor checked, so only bytes that do not frame or a read field's bad value are poison.
   * For a consumer that reads a few fields of every event (the scorer). The string fields named in `interned`
   * (values that repeat from event to event: tenant ids, domains) may come back as one shared string per value.
   */
  decodeFields<T extends ContractTopic, K extends keyof TopicContracts[T] & string>(
    topic: T,
    values: readonly Buffer[],
    fields: readonly K[],
    interned?: readonly K[],
  ): Promise<(Pick<TopicContracts[T], K> | RelayguardError)[]>;
}

/** A tenant's stored window and the version it was stored at (what a write based on it expects). */
export interface StoredWindow {
  readonly window: TenantWindow;
  readonly version: string;
}

/** What changed in a window since the version a write expects: a store may write only these. */
export interface WindowDelta extends WindowChanges {
  /** The event fingerprints that version holds: the first `count` entries of this `generation` of the table. */
  readonly fingerprints: { readonly generation: number; readonly count: number };
}

export interface WindowWrite {
  readonly tenantId: string;
  /**
   * The write applies only if the stored window still has this version (the one load returned, or
   * windowVersion of the window last saved); null: only if the tenant has no stored window.
   */
  readonly expectedVersion: string | null;
  /** The window to store; the store keeps no reference to it. */
  readonly window: TenantWindow;
  /**
   * What changed since the expected version; absent: the window is written whole, replacing what is stored. A store
   * may write the whole window anyway (the memory store does).
   */
  readonly changes?: WindowDelta;
}

export interface WindowStore {
  /** One round trip for all the tenants. Tenants without a stored window are absent from the result. */
  load(tenantIds: readonly string[]): Promise<Map<string, StoredWindow>>;
  /**
   * The versions load would return, without the windows: one round trip, a few bytes a tenant whatever its window
   * holds (the fence before a block). Tenants without a stored window are absent.
   */
  versions(tenantIds: readonly string[]): Promise<Map<string, string>>;
  /**
   * One round trip, each tenant's write atomic. A tenant whose stored window is not at the expected version is not
   * written and comes back in `conflicts` (another scorer owned the partition for a while). A tenant written is
   * stored at windowVersion(window). Throws STORE_UNAVAILABLE (retryable) when the store failed; its
   * `details.applied` names the tenants whose write it did apply nonetheless (Redis took them, its replicas did
   * not confirm them in time): a later write of theirs expects their new version.
   */
  save(writes: readonly WindowWrite[]): Promise<{ conflicts: string[] }>;
  /** Every window key expires this long after its last write: an idle tenant costs nothing. */
  readonly ttlMs: number;
  /**
   * Before the services start: throws INVALID_CONFIG naming the variable when the store can never work as
   * configured (credentials, permissions, replicas), STORE_UNAVAILABLE when it does not answer.
   */
  verify?(): Promise<void>;
  close(): Promise<void>;
}

export interface Clock {
  now(): number;
}

export interface TxtResolver {
  /**
   * The TXT records at a name, each as one string (its character-strings joined, RFC 7208 §3.3); empty when the
   * name has none or does not exist. Throws DNS_UNAVAILABLE (retryable) when the resolver does not answer.
   */
  resolveTxt(name: string): Promise<string[]>;
}
