// What a relay knows about a message it accepted, and the MessageSubmitted event built from it. Only domains
// leave the relay: the local parts of the sender and header From addresses are dropped here, before encoding.
import { randomUUID } from 'node:crypto';
import type { MessageSubmitted, RelayPath } from '../core/contracts.generated.js';
import { domainOfAddress } from '../core/domain-name.js';

export interface SubmittedMessage {
  readonly tenantId: string;
  readonly connectorId: string | null;
  readonly relayPath: RelayPath;
  /** Envelope sender address (MAIL FROM); empty for the null sender. */
  readonly sender: string;
  /** Header From address, used by the scorer when the envelope sender is null. */
  readonly headerFrom?: string;
  readonly clientAddress?: string;
  readonly queueId?: string;
  /** The relay host's name: with the queue id it makes the event id, so a duplicate publish is recognizable. */
  readonly relayHost?: string;
  readonly recipientCount: number;
  readonly sizeBytes: number;
  /** When the relay accepted the message, epoch milliseconds; the publisher's clock when absent. */
  readonly occurredAt?: number;
}

/** Builds the event. Throws a RelayguardError (INVALID_DOMAIN, naming the field) for an unusable address. */
export function toMessageSubmitted(message: SubmittedMessage, now: number): MessageSubmitted {
  const envelopeSenderDomain = domainOfAddress(message.sender, 'sender');
  const headerFromDomain = message.headerFrom ? domainOfAddress(message.headerFrom, 'headerFrom') : null;
  return {
    eventId: message.queueId && message.relayHost ? `${message.relayHost}/${message.queueId}` : randomUUID(),
    tenantId: message.tenantId,
    occurredAt: message.occurredAt ?? now,
    envelopeSenderDomain,
    headerFromDomain,
    relayPath: message.relayPath,
    connectorId: message.connectorId,
    clientAddress: message.clientAddress ?? null,
    queueId: message.queueId ?? null,
    relayHost: message.relayHost ?? null,
    recipientCount: message.recipientCount,
    sizeBytes: message.sizeBytes,
  };
}
