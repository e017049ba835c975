// Materializes the tenant directory from the compacted topics. Every replica reads every partition from the
// beginning (no consumer group): the whole directory, or an enforcer's index of what decisions read.
import type { DirectoryEvent } from '../core/directory.js';
import { isRelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { EventLog, RecordBatch, SchemaCodec, Subscription } from '../platform/ports.js';

const FEEDS = {
  [Topics.acceptedDomains]: 'accepted-domain',
  [Topics.connectors]: 'connector',
  [Topics.tenantPolicies]: 'tenant-policy',
  [Topics.tenantBlocks]: 'tenant-block',
} as const;

type FeedTopic = keyof typeof FEEDS;

/** What the feed materializes: the whole directory, or the enforcer's index (services/core/enforcer-index.ts). */
export interface MaterializedDirectory {
  apply(change: DirectoryEvent): void;
  applyTombstone(kind: 'accepted-domain' | 'connector', key: string): void;
  readonly blockedCount: number;
  readonly monitorBlockedCount: number;
}

export interface DirectoryFeedDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly directory: MaterializedDirectory;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The fetch wait of the feed's subscription (KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS): blocks reach enforcers here. */
  readonly fetchMaxWaitMs?: number;
}

export async function startDirectoryFeed(deps: DirectoryFeedDeps): Promise<Subscription> {
  // Removed domains and connectors end in a tombstone, so that compaction forgets them (RUNBOOK: topic retention).
  // relayguard writes none on the policy and block topics: one there changes nothing.
  const applyTombstone = (topic: FeedTopic, key: string | null) => {
    const kind = FEEDS[topic];
    if (key === null || (kind !== 'accepted-domain' && kind !== 'connector')) return;
    deps.directory.applyTombstone(kind, key);
    deps.metrics.eventsConsumed.inc({ topic, outcome: 'tombstone' });
  };
  const handleBatch = async (batch: RecordBatch) => {
    const topic = batch.topic as FeedTopic;
    for (const record of batch.records) {
      if (record.value === null) {
        applyTombstone(topic, record.key);
        continue;
      }
      let change: DirectoryEvent;
      try {
        change = {
          kind: FEEDS[topic],
          event: await deps.codec.decode(topic, record.value),
        } as DirectoryEvent;
        deps.directory.apply(change);
      } catch (error) {
        if (isRelayguardError(error) && !error.retryable) {
          // State topics are written by relayguard alone: a bad record is a bug to alert on, not to block on.
          deps.logger.error(
            { topic, partition: batch.partition, offset: record.offset, code: error.code, err: error },
            'skipped an unreadable directory record',
          );
          deps.metrics.eventsConsumed.inc({ topic, outcome: 'invalid' });
          continue;
        }
        throw error;
      }
      deps.metrics.eventsConsumed.inc({ topic, outcome: 'applied' });
    }
    deps.metrics.tenantsBlocked.set(deps.directory.blockedCount);
    deps.metrics.tenantsMonitorBlocked.set(deps.directory.monitorBlockedCount);
    deps.metrics.consumerLag.set({ topic, partition: String(batch.partition) }, batch.lag);
  };
  return deps.log.subscribe({
    groupId: null,
    topics: Object.keys(FEEDS),
    handleBatch,
    maxWaitTimeMs: deps.fetchMaxWaitMs,
  });
}
