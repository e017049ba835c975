// Recorded traffic as JSON lines: one MessageSubmitted (the Avro contract's fields, times in epoch
// milliseconds) a line. `relayguard simulate --record` writes it; `relayguard backtest --events` reads it.
import { type MessageSubmitted, RelayPathValues } from '../core/contracts.generated.js';

export function encodeEventLine(event: MessageSubmitted): string {
  return JSON.stringify(event);
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
