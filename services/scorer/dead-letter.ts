// Poison events go to the dead-letter topic with their original bytes and headers naming where they came from
// and why, so an operator can inspect, fix and replay them; the consumer moves on.
import type { RelayguardError } from '../core/errors.js';
import type { LogRecord, OutgoingRecord } from '../platform/ports.js';

export const DlqHeaders = {
  sourceTopic: 'relayguard.dlq.source.topic',
  sourcePartition: 'relayguard.dlq.source.partition',
  sourceOffset: 'relayguard.dlq.source.offset',
  errorCode: 'relayguard.dlq.error.code',
  errorField: 'relayguard.dlq.error.field',
  errorMessage: 'relayguard.dlq.error.message',
} as const;

export function deadLetter(topic: string, record: LogRecord, error: RelayguardError): OutgoingRecord {
  return {
    key: record.key ?? '',
    value: record.value ?? Buffer.alloc(0),
    headers: {
      ...record.headers,
      [DlqHeaders.sourceTopic]: topic,
      [DlqHeaders.sourcePartition]: String(record.partition),
      [DlqHeaders.sourceOffset]: record.offset,
      [DlqHeaders.errorCode]: error.code,
      [DlqHeaders.errorField]: error.field ?? '',
      [DlqHeaders.errorMessage]: error.message.slice(0, 500),
    },
  };
}
