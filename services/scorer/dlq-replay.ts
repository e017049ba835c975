// Dead-lettered events published again to the topic they came from, once what made them poison is fixed: the
// typical case is UNKNOWN_TENANT, mail of a tenant whose onboarding finished after the scorer's retry window. The
// original bytes go back unchanged, so every event keeps its event id, and the scorer counts an event id once
// (services/core/fingerprints.ts): a second replay of the same dead letters counts nothing twice.
import { ErrorCodes } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import type { EventLog, LogRecord, OutgoingRecord } from '../platform/ports.js';
import { DlqHeaders } from './dead-letter.js';

/** Which dead letters to publish again; an absent criterion selects every record. */
export interface DlqSelection {
  /** Error codes (the `relayguard.dlq.error.code` header). */
  readonly reasons?: readonly string[];
  /** Tenants (the record key, the tenant id of the original event). */
  readonly tenants?: readonly string[];
  /** Dead-lettered at or after (epoch ms, the dead-letter record's timestamp). */
  readonly from?: number;
  /** Dead-lettered before (epoch ms). */
  readonly to?: number;
}

/** The header a replayed record carries: where in the dead-letter topic it was (`<partition>:<offset>`). */
export const REPLAYED_FROM_HEADER = 'relayguard.dlq.replayed.from';

export interface DlqReplayGroup {
  readonly reason: string;
  readonly tenantId: string;
  readonly events: number;
  /** When the first and the last of them were dead-lettered (epoch ms). */
  readonly firstDeadLettered: number;
  readonly lastDeadLettered: number;
}

export interface DlqReplaySummary {
  /** Dead letters read (the whole topic up to its end when the replay started). */
  readonly read: number;
  readonly selected: number;
  /** Published again to message-submitted; 0 in a dry run. */
  readonly republished: number;
  readonly dryRun: boolean;
  readonly groups: readonly DlqReplayGroup[];
}

/** The reasons that are not error codes of relayguard: a typo would otherwise select nothing, silently. */
export function unknownReasons(reasons: readonly string[]): string[] {
  return reasons.filter((reason) => !Object.hasOwn(ErrorCodes, reason));
}

const PUBLISH_CHUNK = 500;

/**
 * Reads the dead-letter topic to its end, selects, and (unless `dryRun`) publishes the selected records again to
 * the topic they were dead-lettered from, keyed as before (so to the same partition as the tenant's other events),
 * with their original headers and value.
 */
export async function replayDeadLetters(
  log: EventLog,
  selection: DlqSelection,
  options: { dryRun: boolean; onProgress?(read: number): void },
): Promise<DlqReplaySummary> {
  const selected: LogRecord[] = [];
  let read = 0;
  const subscription = await log.subscribe({
    groupId: null,
    topics: [Topics.messageSubmittedDlq],
    handleBatch: async (batch) => {
      read += batch.records.length;
      selected.push(...batch.records.filter((record) => matches(record, selection)));
      options.onProgress?.(read);
    },
  });
  await subscription.caughtUp;
  await subscription.stop();

  if (!options.dryRun) {
    const records = selected.map(original);
    for (let i = 0; i < records.length; i += PUBLISH_CHUNK)
      await log.publish(Topics.messageSubmitted, records.slice(i, i + PUBLISH_CHUNK));
  }
  return {
    read,
    selected: selected.length,
    republished: options.dryRun ? 0 : selected.length,
    dryRun: options.dryRun,
    groups: groupByReasonAndTenant(selected),
  };
}

function matches(record: LogRecord, { reasons, tenants, from, to }: DlqSelection): boolean {
  // Only what the scorer dead-lettered from message-submitted goes back there.
  if (record.value === null || record.headers[DlqHeaders.sourceTopic] !== Topics.messageSubmitted)
    return false;
  if (reasons && !reasons.includes(record.headers[DlqHeaders.errorCode] ?? '')) return false;
  if (tenants && !tenants.includes(record.key ?? '')) return false;
  if (from !== undefined && record.timestamp < from) return false;
  if (to !== undefined && record.timestamp >= to) return false;
  return true;
}

/** The record as the relay published it: the dead-letter headers replaced by where it was in the DLQ. */
function original(record: LogRecord): OutgoingRecord {
  const dlqHeaders = new Set<string>(Object.values(DlqHeaders));
  const headers = Object.fromEntries(
    Object.entries(record.headers).filter(([name]) => !dlqHeaders.has(name)),
  );
  return {
    key: record.key ?? '',
    value: record.value!,
    headers: { ...headers, [REPLAYED_FROM_HEADER]: `${record.partition}:${record.offset}` },
  };
}

function groupByReasonAndTenant(records: readonly LogRecord[]): DlqReplayGroup[] {
  const groups = new Map<string, DlqReplayGroup>();
  for (const record of records) {
    const reason = record.headers[DlqHeaders.errorCode] ?? '';
    const tenantId = record.key ?? '';
    const name = `${reason}\u0000${tenantId}`;
    const group = groups.get(name);
    groups.set(name, {
      reason,
      tenantId,
      events: (group?.events ?? 0) + 1,
      firstDeadLettered: Math.min(group?.firstDeadLettered ?? record.timestamp, record.timestamp),
      lastDeadLettered: Math.max(group?.lastDeadLettered ?? record.timestamp, record.timestamp),
    });
  }
  return [...groups.values()].sort((a, b) =>
    a.reason === b.reason ? a.tenantId.localeCompare(b.tenantId) : a.reason.localeCompare(b.reason),
  );
}
