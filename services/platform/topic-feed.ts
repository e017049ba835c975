// Follows one contract topic from its beginning, without a consumer group (every replica reads every partition),
// handing each decoded record to `apply`: how a process materializes a small topic it needs in memory (the
// webhook endpoints, the webhook delivery log, the audit trail). Records are relayguard's own: one that does not decode is a bug
// to alert on, not to stop on, so it is skipped, logged with its position and counted.
import { isRelayguardError } from '../core/errors.js';
import type { ContractTopic, TopicContracts } from '../core/topics.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { EventLog, SchemaCodec, Subscription } from './ports.js';

/** What a feed reads its topic with, and reports on. */
export interface TopicFeedPorts {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface TopicFeedDeps<T extends ContractTopic> extends TopicFeedPorts {
  readonly topic: T;
  apply(value: TopicContracts[T]): void;
  /** A tombstone (a null value) of this key: compaction may have removed the key's earlier records. */
  tombstone?(key: string): void;
  /** Called once the feed has read what the topic held when it started. */
  caughtUp?(): void;
}

export async function startTopicFeed<T extends ContractTopic>(deps: TopicFeedDeps<T>): Promise<Subscription> {
  const { codec, logger, metrics, topic } = deps;
  const subscription = await deps.log.subscribe({
    groupId: null,
    topics: [topic],
    handleBatch: async (batch) => {
      const values = batch.records.flatMap((record) => (record.value === null ? [] : [record.value]));
      const decoded = await codec.decodeAll(topic, values);
      let next = 0;
      // In offset order: a tombstone removes what the records before it of its key said.
      for (const record of batch.records) {
        if (record.value === null) {
          if (record.key !== null && deps.tombstone) {
            deps.tombstone(record.key);
            metrics.eventsConsumed.inc({ topic, outcome: 'tombstone' });
          }
          continue;
        }
        const value = decoded[next++]!;
        if (isRelayguardError(value)) {
          logger.error(
            { topic, partition: batch.partition, offset: record.offset, code: value.code },
            'skipped an unreadable record',
          );
          metrics.eventsConsumed.inc({ topic, outcome: 'invalid' });
          continue;
        }
        deps.apply(value);
        metrics.eventsConsumed.inc({ topic, outcome: 'applied' });
      }
    },
  });
  void subscription.caughtUp.then(
    () => deps.caughtUp?.(),
    () => undefined,
  );
  return subscription;
}
