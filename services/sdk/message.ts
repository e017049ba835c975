// What a relay knows about a message it accepted, and the MessageSubmitted event built from it. Only domains
// leave the relay: the local parts of the sender and header From addresses are dropped here, before encoding.
import type { MessageSubmitted, RelayPath } from '../core/contracts.generated.js';
import { senderDomainOf } from '../core/domain-name.js';
import { RelayguardError } from '../core/errors.js';

export interface SubmittedMessage {
  readonly tenantId: string;
  readonly connectorId: string | null;
  readonly relayPath: RelayPath;
  /** Envelope sender address (MAIL FROM); empty for the null sender. */
  readonly sender: string;
  /** Header From address, used by the scorer when the envelope sender is null. */
  readonly headerFrom?: string;
  readonly clientAddress?: string;
  /**
   * The relay's own identity of the message, the same on every retry: its queue id, unique on `relayHost` (for
   * Postfix the queue id; for another MTA its message or spool id). `relayHost/queueId` is the event id, so a
   * message published again (a retry after a publish that failed or could not be confirmed) is counted once.
   */
  readonly queueId: string;
  /** The relay host's name, unique in the fleet. */
  readonly relayHost: string;
  readonly recipientCount: number;
  readonly sizeBytes: number;
  /** When the relay accepted the message, epoch milliseconds; the publisher's clock when absent. */
  readonly occurredAt?: number;
}

/**
 * Builds the event. Throws a RelayguardError naming the field, MISSING_FIELD, without the message's identity
 * (a random id would count every retry again).
 */
export function toMessageSubmitted(message: SubmittedMessage, now: number): MessageSubmitted {
  for (const field of ['queueId', 'relayHost'] as const) {
    if (typeof message[field] !== 'string' || message[field].trim() === '') {
      throw new RelayguardError(
        'MISSING_FIELD',
        `${field}: required, the same on every retry of the message (relayHost/queueId is its event id)`,
        { field },
      );
    }
  }
  // An address literal or unparsable sender is published under its stand-in domain, never dropped: every
  // sender form is scored (services/core/domain-name.ts, SENDERLESS).
  const envelopeSenderDomain = senderDomainOf(message.sender, 'sender');
  const headerFromDomain = message.headerFrom ? senderDomainOf(message.headerFrom, 'headerFrom') : null;
  return {
    eventId: `${message.relayHost}/${message.queueId}`,
    tenantId: message.tenantId,
    occurredAt: message.occurredAt ?? now,
    envelopeSenderDomain,
    headerFromDomain,
    relayPath: message.relayPath,
    connectorId: message.connectorId,
    clientAddress: message.clientAddress ?? null,
    queueId: message.queueId,
    relayHost: message.relayHost,
    recipientCount: message.recipientCount,
    sizeBytes: message.sizeBytes,
  };
}
