// Which domain a message is "from", and whether that domain is one the tenant registered.
import type { MessageSubmitted, RelayPath } from './contracts.generated.js';
import { normalizeDomain, SENDERLESS } from './domain-name.js';
import { RelayguardError } from './errors.js';

/**
 * registered: from an accepted domain. unregistered: not, on ONPREM or APPLICATION (counts toward U).
 * forwarded: not, on FORWARDED (F, allowed by default). unknown: no sender domain at all.
 */
export type MessageClass = 'registered' | 'unregistered' | 'forwarded' | 'unknown';
export const MESSAGE_CLASSES: readonly MessageClass[] = [
  'registered',
  'unregistered',
  'forwarded',
  'unknown',
];

export interface AcceptedDomainLookup {
  /** The accepted-domain entry for exactly this name, if registered. */
  acceptedDomain(tenantId: string, domain: string): { readonly matchSubdomains: boolean } | undefined;
  /**
   * isRegistered's answer from a lookup that walks the name's parents in place (TenantDirectory hashes them in
   * one pass: no string cut out per parent). Lookups without it are walked by isRegistered.
   */
  isRegistered?(tenantId: string, domain: string): boolean;
}

/** A domain is registered when it is accepted, or a subdomain of an accepted domain that matches subdomains. */
export function isRegistered(lookup: AcceptedDomainLookup, tenantId: string, domain: string): boolean {
  if (lookup.isRegistered !== undefined) return lookup.isRegistered(tenantId, domain);
  if (lookup.acceptedDomain(tenantId, domain)) return true;
  for (let dot = domain.indexOf('.'); dot !== -1; dot = domain.indexOf('.', dot + 1)) {
    if (lookup.acceptedDomain(tenantId, domain.slice(dot + 1))?.matchSubdomains) return true;
  }
  return false;
}

export function classify(
  senderDomain: string | null,
  relayPath: RelayPath,
  registered: boolean,
): MessageClass {
  if (senderDomain === null) return 'unknown';
  if (registered) return 'registered';
  return relayPath === 'FORWARDED' ? 'forwarded' : 'unregistered';
}

/** A MessageSubmitted event checked and reduced to what scoring needs. */
export interface ValidMessage {
  readonly tenantId: string;
  readonly occurredAt: number;
  /**
   * Envelope sender domain, or header From domain for the null sender, normalized; SENDERLESS.nullSender when
   * neither. (Null only in messages built by hand: every validated message names a domain.)
   */
  readonly senderDomain: string | null;
  readonly relayPath: RelayPath;
  readonly connectorId: string | null;
}

/**
 * The fields of MessageSubmitted the scorer reads: it decodes events through a reader schema of these alone, so
 * the others (client address, relay host, recipient count, size) are skipped, never decoded nor checked.
 */
export const SCORED_FIELDS = [
  'eventId',
  'tenantId',
  'occurredAt',
  'envelopeSenderDomain',
  'headerFromDomain',
  'relayPath',
  'connectorId',
  'queueId',
] as const satisfies readonly (keyof MessageSubmitted)[];

/**
 * The scored fields whose values repeat from event to event (a tenant's id, its few domains and connectors): the
 * codec may hand out one shared string per value (decodeFields' `interned`), not a fresh one per event.
 */
export const REPEATED_FIELDS = [
  'tenantId',
  'envelopeSenderDomain',
  'headerFromDomain',
  'connectorId',
] as const satisfies readonly (typeof SCORED_FIELDS)[number][];

/** A MessageSubmitted as the scorer decodes it: SCORED_FIELDS only. */
export type ScoredEvent = Pick<MessageSubmitted, (typeof SCORED_FIELDS)[number]>;

/** Throws a non-retryable RelayguardError naming the field for an event that can never be scored. */
export function validateMessage(event: ScoredEvent): ValidMessage {
  if (event.tenantId.trim() === '') {
    throw new RelayguardError('MISSING_FIELD', 'tenantId: the event names no tenant', { field: 'tenantId' });
  }
  if (!Number.isSafeInteger(event.occurredAt) || event.occurredAt <= 0) {
    throw new RelayguardError('INVALID_FIELD', 'occurredAt: must be a positive epoch-millisecond time', {
      field: 'occurredAt',
    });
  }
  // A bounce without a header From names no domain: it counts under its stand-in, so a flood of null-sender
  // mail is scored like any unregistered flood (DESIGN.md, "Sender domain").
  const senderDomain =
    event.envelopeSenderDomain !== null && event.envelopeSenderDomain !== ''
      ? normalizeDomain(event.envelopeSenderDomain, 'envelopeSenderDomain')
      : event.headerFromDomain !== null && event.headerFromDomain !== ''
        ? normalizeDomain(event.headerFromDomain, 'headerFromDomain')
        : SENDERLESS.nullSender;
  return {
    tenantId: event.tenantId,
    occurredAt: event.occurredAt,
    senderDomain,
    relayPath: event.relayPath,
    connectorId: event.connectorId,
  };
}
