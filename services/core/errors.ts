// A closed list of error codes. Callers branch on `code`, never on the message; `retryable` tells a consumer
// whether to retry (infrastructure) or to dead-letter (the input itself is bad and will never succeed).

export const ErrorCodes = {
  INVALID_DOMAIN: { retryable: false, summary: 'not a valid domain name' },
  INVALID_ADDRESS: { retryable: false, summary: 'not a valid IP address or CIDR range' },
  MISSING_FIELD: { retryable: false, summary: 'a required field is missing or empty' },
  INVALID_FIELD: { retryable: false, summary: 'a field has a value outside its allowed range' },
  FUTURE_EVENT: { retryable: false, summary: 'the event time is too far in the future' },
  UNDECODABLE: { retryable: false, summary: 'the bytes are not a framed Avro message' },
  UNKNOWN_SCHEMA_ID: { retryable: false, summary: 'the schema id is not known to the registry' },
  SCHEMA_MISMATCH: { retryable: false, summary: 'the message does not match its schema' },
  UNKNOWN_TENANT: { retryable: false, summary: 'no such tenant' },
  NOT_FOUND: { retryable: false, summary: 'no such accepted domain or connector' },
  NOT_BLOCKED: { retryable: false, summary: 'the tenant is not blocked' },
  ATTESTATION_MISSING: { retryable: false, summary: 'a required attestation is missing or false' },
  SELF_SERVICE_DENIED: { retryable: false, summary: 'the self-service unblock checks did not pass' },
  CLAIM_CONFLICT: {
    retryable: false,
    summary: 'another connector or tenant already claims this IP range, certificate name or domain',
  },
  OPERATOR_ONLY: { retryable: false, summary: 'only an operator may make this change' },
  ENDPOINT_CONFLICT: {
    retryable: false,
    summary: 'a webhook endpoint with this id exists, or RELAYGUARD_WEBHOOKS defines it (change it there)',
  },
  VERIFICATION_FAILED: { retryable: false, summary: 'the DNS TXT record that proves control was not found' },
  DNS_UNAVAILABLE: { retryable: true, summary: 'the DNS resolver did not answer' },
  INVALID_CONFIG: { retryable: false, summary: 'the configuration is invalid' },
  STORE_UNAVAILABLE: { retryable: true, summary: 'the window store is unavailable' },
  LOG_UNAVAILABLE: { retryable: true, summary: 'the event log is unavailable' },
  REGISTRY_UNAVAILABLE: { retryable: true, summary: 'the schema registry is unavailable' },
  WRITE_CONFLICT: { retryable: true, summary: 'another writer changed the state first' },
  DIRECTORY_BEHIND: {
    retryable: true,
    summary: 'the tenant directory has not caught up with this tenant yet',
  },
  PUBLISHER_FULL: { retryable: true, summary: 'too many messages are waiting for delivery' },
  PUBLISHER_CLOSED: { retryable: false, summary: 'the publisher is closed' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * What marks a RelayguardError. `Symbol.for` names one symbol across realms and across copies of this package
 * (a subscriber's bundle may carry its own), where `instanceof` fails; a `name` string is any error's to claim.
 */
const RELAYGUARD_ERROR = Symbol.for('relayguard.error');

export class RelayguardError extends Error {
  readonly [RELAYGUARD_ERROR] = true;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** The input field the error is about, when there is one (a config variable, an event field, a body path). */
  readonly field: string | undefined;
  /** Structured facts a caller can act on (e.g. the self-service checks that failed); safe to show the requester. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; cause?: unknown; details?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'RelayguardError';
    this.code = code;
    this.retryable = ErrorCodes[code].retryable;
    this.field = options.field;
    this.details = options.details;
  }
}

/** Survives realm and package-copy boundaries, unlike `instanceof`; an error merely named so is not one. */
export function isRelayguardError(error: unknown): error is RelayguardError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [RELAYGUARD_ERROR]?: unknown })[RELAYGUARD_ERROR] === true
  );
}
