// Recorded traffic as JSON lines: one MessageSubmitted (the Avro contract's fields, times in epoch
// milliseconds) a line. `relayguard simulate --record` writes it; `relayguard backtest --events` reads it. A
// simulation knows which of its messages are spam and says so (`"spam": true` or `false`): a backtest of such a
// record reports the legitimate mail each policy refused and the spam it let through.
import { type MessageSubmitted, RelayPathValues } from '../core/contracts.generated.js';

/** A recorded event, and whether it is spam when the recorder knows (a simulation). */
export type RecordedEvent = MessageSubmitted & { readonly spam?: boolean };

export function encodeEventLine(event: RecordedEvent): string {
  return JSON.stringify(event);
}

/** Whether a recorded event is spam, when the record says (a simulation's); null when it does not. */
export function spamLabel(event: object): boolean | null {
  const spam = (event as { spam?: unknown }).spam;
  return typeof spam === 'boolean' ? spam : null;
}

const RELAY_PATHS: ReadonlySet<string> = new Set(RelayPathValues);

const NULLABLE = [
  'envelopeSenderDomain',
  'headerFromDomain',
  'connectorId',
  'clientAddress',
  'queueId',
  'relayHost',
] as const;

/**
 * One line into an event; null when the line is not JSON or not shaped like a MessageSubmitted (a missing
 * nullable field reads as null). The checks are by hand and the parsed object is returned as it is: a schema
 * library or a copy would cost more than scoring the event.
 */
export function decodeEventLine(line: string): MessageSubmitted | null {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.eventId !== 'string' ||
    typeof value.tenantId !== 'string' ||
    typeof value.occurredAt !== 'number' ||
    typeof value.relayPath !== 'string' ||
    !RELAY_PATHS.has(value.relayPath) ||
    typeof value.recipientCount !== 'number' ||
    typeof value.sizeBytes !== 'number'
  )
    return null;
  for (const field of NULLABLE) {
    const fieldValue = value[field];
    if (fieldValue === undefined) value[field] = null;
    else if (fieldValue !== null && typeof fieldValue !== 'string') return null;
  }
  return value as unknown as MessageSubmitted;
}
