// What each of relayguard's topics is created with, and why: partitions (the message-submitted topic and its DLQ
// scale with the scorers; the state topics are small), replication, how long records are kept and how they are
// compressed. `relayguard topics` creates missing topics with this plan and reports how existing ones differ
// (topic-admin.ts); bench/README.md sizes the topics from it.
import { BLOCK_HISTORY_MS, CompactedTopics, Topics } from '../../core/topics.js';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface TopicPlanOptions {
  /** Partitions of the message-submitted topic and its DLQ (RELAYGUARD_PARTITIONS). */
  readonly partitions: number;
  /** Partitions of the compacted state topics and the audit topic. */
  readonly statePartitions: number;
  readonly replicationFactor: number;
  /** How long the message-submitted topic keeps events; DEFAULT_MESSAGE_RETENTION_MS when absent. */
  readonly messageRetentionMs?: number;
}

export const TopicConfig = {
  cleanupPolicy: 'cleanup.policy',
  retention: 'retention.ms',
  segment: 'segment.ms',
  compression: 'compression.type',
  minCompactionLag: 'min.compaction.lag.ms',
  maxCompactionLag: 'max.compaction.lag.ms',
  deleteRetention: 'delete.retention.ms',
  minInsyncReplicas: 'min.insync.replicas',
  timestampType: 'message.timestamp.type',
} as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * A day of events: the scorer group can be down (or a partition stuck on a poison bug) this long and still score
 * every event when it is back, and `backtest --kafka` can replay a day. rebuild-windows needs only the window and
 * its grace (`minimumMessageRetentionMs`).
 */
export const DEFAULT_MESSAGE_RETENTION_MS = DAY_MS;

/** The least retention that still lets rebuild-windows rebuild whole windows: the window and its grace. */
export function minimumMessageRetentionMs(policy: {
  readonly windowMinutes: number;
  readonly graceMinutes: number;
}): number {
  return (policy.windowMinutes + policy.graceMinutes) * 60_000;
}

/**
 * Compression the broker applies when it appends: gzip is the one codec kafkajs reads without a plugin (lz4,
 * snappy and zstd batches would fail every scorer's fetch), and Avro events with repeated tenant ids and domains
 * compress well (bench/README.md: topic sizes).
 */
export const EVENT_COMPRESSION = 'gzip';

/**
 * Dead letters wait for an operator (`relayguard dlq replay`, or a fix and a replay): two weeks covers a holiday.
 */
const DEAD_LETTER_RETENTION_MS = 14 * DAY_MS;

/**
 * How long a tombstone (a removed domain or connector) stays readable once the cleaner reached it: a reader that
 * started from the beginning before the cleaner removed the key's earlier records must still meet the tombstone, or
 * it keeps the removed object. An enforcer replays the state topics in about a minute at a million tenants.
 */
const TOMBSTONE_RETENTION_MS = DAY_MS;

/**
 * State topics roll a segment a day: the cleaner never touches the active segment, so with the broker's default
 * (7 days, or 1 GiB) a quiet topic would keep superseded records and tombstones for a week before compaction starts.
 */
const STATE_SEGMENT_MS = DAY_MS;

/**
 * A superseded record or tombstone of the domains, connectors and policies is compacted at most this long after it
 * was written, however little else changed (KIP-354): removed objects are forgotten within about a week.
 */
const STATE_MAX_COMPACTION_LAG_MS = 7 * DAY_MS;

/** Retention deletes whole segments: an hour's segment keeps at most an hour more than the retention. */
const EVENT_SEGMENT_MS = HOUR_MS;

/** Topics whose partition count follows the scorer's scale. */
const SCALED_TOPICS: readonly string[] = [Topics.messageSubmitted, Topics.messageSubmittedDlq];

export function plannedTopics(options: TopicPlanOptions): TopicSpec[] {
  return Object.values(Topics).map((topic) => ({
    topic,
    partitions: SCALED_TOPICS.includes(topic) ? options.partitions : options.statePartitions,
    replicationFactor: options.replicationFactor,
    configs: {
      // With acks=all a write needs this many in-sync replicas: one broker may fail without losing an
      // acknowledged event (when there are 3 replicas).
      [TopicConfig.minInsyncReplicas]: String(options.replicationFactor >= 3 ? 2 : 1),
      ...retentionOf(topic, options.messageRetentionMs ?? DEFAULT_MESSAGE_RETENTION_MS),
    },
  }));
}

/**
 * How long the brokers keep the records of a topic that is not compacted (Infinity: for good, as the audit trail),
 * so that the embedded log keeps what they keep.
 */
export function plannedRetentionMs(topic: string, messageRetentionMs = DEFAULT_MESSAGE_RETENTION_MS): number {
  const retention = Number(retentionOf(topic, messageRetentionMs)[TopicConfig.retention]);
  return retention < 0 ? Number.POSITIVE_INFINITY : retention;
}

function retentionOf(topic: string, messageRetentionMs: number): Record<string, string> {
  if (CompactedTopics.includes(topic)) {
    const state: Record<string, string> = {
      [TopicConfig.cleanupPolicy]: 'compact',
      [TopicConfig.segment]: String(STATE_SEGMENT_MS),
      [TopicConfig.deleteRetention]: String(TOMBSTONE_RETENTION_MS),
    };
    // The self-service rule reads a tenant's earlier blocks back from this topic: kept whole for the history.
    if (topic === Topics.tenantBlocks) state[TopicConfig.minCompactionLag] = String(BLOCK_HISTORY_MS);
    else state[TopicConfig.maxCompactionLag] = String(STATE_MAX_COMPACTION_LAG_MS);
    return state;
  }
  switch (topic) {
    case Topics.messageSubmitted:
      return {
        [TopicConfig.cleanupPolicy]: 'delete',
        [TopicConfig.retention]: String(messageRetentionMs),
        [TopicConfig.segment]: String(EVENT_SEGMENT_MS),
        [TopicConfig.compression]: EVENT_COMPRESSION,
        // The scorer bounds event time by the record's timestamp: the broker's clock, never the relay's.
        [TopicConfig.timestampType]: 'LogAppendTime',
      };
    case Topics.messageSubmittedDlq:
    case Topics.webhooksDlq:
    // The webhook delivery log and replays likewise wait for an operator to read them, or for a deliverer.
    case Topics.webhookDeliveries:
    case Topics.webhookReplays:
      return {
        [TopicConfig.cleanupPolicy]: 'delete',
        [TopicConfig.retention]: String(DEAD_LETTER_RETENTION_MS),
        [TopicConfig.compression]: EVENT_COMPRESSION,
      };
    case Topics.audit:
      // Who did what is kept for good (one record per admin change): an audit must not lose its history.
      return { [TopicConfig.cleanupPolicy]: 'delete', [TopicConfig.retention]: '-1' };
    default:
      throw new Error(`no retention planned for topic ${topic}`);
  }
}
