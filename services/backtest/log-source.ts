// The message-submitted topic as a backtest source, through the EventLog port: any adapter (Kafka in
// production, the in-memory log in tests) read without a consumer group — from the start of every partition,
// committing nothing — up to the end offsets it had when the backtest began, keeping the events of a time range.
// Production state is never touched: no group offsets move, nothing is published.
import { REPEATED_FIELDS, SCORED_FIELDS, type ScoredEvent } from '../core/classify.js';
import { isRelayguardError } from '../core/errors.js';
import { checkEventTime } from '../core/event-time.js';
import { Topics } from '../core/topics.js';
import type { EventLog, RecordBatch, SchemaCodec } from '../platform/ports.js';
import {
  type EventSource,
  inTimeRange,
  ProblemCounter,
  type SourceProgress,
  type TimeRange,
} from './source.js';

/**
 * `maxClockSkewMs`: events further ahead of their record's log time are refused as FUTURE_EVENT, as the live
 * scorer dead-letters them (RELAYGUARD_MAX_CLOCK_SKEW_SECONDS), so the backtest decides what live scoring did.
 */
export function eventLogSource(
  log: EventLog,
  codec: SchemaCodec,
  range: TimeRange,
  name: string,
  maxClockSkewMs: number,
): EventSource {
  const problems = new ProblemCounter();
  const lag = new Map<number, number>();
  let records = 0;
  let outside = 0;

  async function* batches(): AsyncGenerator<readonly ScoredEvent[]> {
    // The log's consumer waits until the backtest has scored each batch (back-pressure); null marks the end.
    const queue: ({ batch: RecordBatch; scored: () => void } | null)[] = [];
    let wake: (() => void) | null = null;
    let closed = false;
    let inHand: (() => void) | null = null;
    const push = (item: (typeof queue)[number]) => {
      queue.push(item);
      wake?.();
      wake = null;
    };
    const subscription = await log.subscribe({
      groupId: null,
      topics: [Topics.messageSubmitted],
      maxBatchSize: 5000,
      handleBatch: (batch) =>
        closed ? Promise.resolve() : new Promise<void>((scored) => push({ batch, scored })),
    });
    void subscription.caughtUp.then(() => push(null));
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const item = queue.shift()!;
        if (item === null) break;
        const { batch } = item;
        inHand = item.scored;
        records += batch.records.length;
        lag.set(batch.partition, batch.lag);
        const events: ScoredEvent[] = [];
        // The scorer's reader schema (the fields scoring reads), so the same events decode or are refused.
        const values = batch.records.flatMap((record) => (record.value === null ? [] : [record.value]));
        const decoded = await codec.decodeFields(
          Topics.messageSubmitted,
          values,
          SCORED_FIELDS,
          REPEATED_FIELDS,
        );
        let next = 0;
        for (const record of batch.records) {
          if (record.value === null) continue;
          try {
            const event = decoded[next++]!;
            if (isRelayguardError(event)) throw event;
            checkEventTime(event.occurredAt, record.timestamp, maxClockSkewMs);
            if (inTimeRange(range, event.occurredAt)) events.push(event);
            else outside++;
          } catch (error) {
            if (!isRelayguardError(error) || error.retryable) throw error;
            problems.add(error.code, null);
          }
        }
        if (events.length > 0) yield events;
        inHand = null;
        item.scored();
      }
    } finally {
      // Records published after the backtest began may still be offered: let them go unread.
      closed = true;
      (inHand as (() => void) | null)?.();
      for (const item of queue.splice(0)) item?.scored();
      await subscription.stop();
    }
  }

  return {
    description: name,
    batches,
    progress(): SourceProgress {
      let left = 0;
      for (const value of lag.values()) left += value;
      return { done: records, total: lag.size > 0 ? records + left : null, unit: 'records' };
    },
    summary: () => ({
      description: name,
      problems: problems.toJSON(),
      details: { records, outsideTimeRange: outside },
    }),
  };
}
