// What a Postfix policy request means to relayguard: at RCPT, the decision for the sender; at END-OF-MESSAGE,
// one MessageSubmitted for the accepted message. Every other protocol state is none of our business (DUNNO).
// Attribute names and meanings: Postfix's SMTPD_POLICY_README.
import { replyLine } from '../../core/decision.js';
import { normalizeDomain } from '../../core/domain-name.js';
import { isRelayguardError } from '../../core/errors.js';
import type { Metrics } from '../../platform/metrics.js';
import type { Enforcer } from '../enforcer.js';
import type { PolicyRequest } from './protocol.js';

/** The SMTP protocol states Postfix asks in; anything else is labelled `other` (label values stay bounded). */
const STAGES = new Set(['CONNECT', 'EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'END-OF-MESSAGE', 'VRFY', 'ETRN']);

/**
 * access(5): at END-OF-MESSAGE, DEFER_IF_PERMIT turns the message's acceptance into a 450 the client retries.
 */
export const SPOOL_FULL_DEFER = 'DEFER_IF_PERMIT 4.3.5 Service temporarily unavailable, try again later';

/** A request that is well-formed text but not a Postfix SMTPD access policy request relayguard can answer. */
export class InvalidPolicyRequest extends Error {
  override readonly name = 'InvalidPolicyRequest';
}

export interface PolicyAnswer {
  /** The metrics label for the request's protocol state. */
  readonly stage: string;
  /** The action line body; a promise when the answer waits for the event log (END-OF-MESSAGE). */
  readonly action: string | Promise<string>;
}

export class PolicyHandler {
  readonly #enforcer: Enforcer;
  readonly #metrics: Metrics;

  constructor(enforcer: Enforcer, metrics: Metrics) {
    this.#enforcer = enforcer;
    this.#metrics = metrics;
  }

  /**
   * `relayAddress` is the policy connection's peer address: the relay's identity, which the allowlist vouched
   * for. Throws InvalidPolicyRequest.
   */
  handle(request: PolicyRequest, relayAddress: string): PolicyAnswer {
    if (request.get('request') !== 'smtpd_access_policy') {
      throw new InvalidPolicyRequest('request is not smtpd_access_policy');
    }
    const state = request.get('protocol_state') ?? '';
    const stage = STAGES.has(state) ? state : 'other';
    if (state === 'RCPT') return { stage, action: this.#rcpt(request) };
    if (state === 'END-OF-MESSAGE') return { stage, action: this.#endOfMessage(request, relayAddress) };
    return { stage, action: 'DUNNO' };
  }

  #rcpt(request: PolicyRequest): string {
    try {
      const { clientAddress, certificateDomain } = client(request);
      const sender = request.get('sender') ?? '';
      return replyLine(this.#enforcer.decide({ clientAddress, certificateDomain, sender }, 'RCPT'));
    } catch (error) {
      throw invalidInput(error);
    }
  }

  async #endOfMessage(request: PolicyRequest, relayAddress: string): Promise<string> {
    const query = client(request);
    const resolved = this.#resolve(query);
    if (!resolved?.connector) {
      this.#metrics.unknownClients.inc();
      return 'DUNNO';
    }
    // The message's identity makes the event id (a retried publish is counted once): Postfix always sends it here.
    const queueId = request.get('queue_id');
    if (!queueId) throw new InvalidPolicyRequest('END-OF-MESSAGE without a queue_id');
    const submission = await this.#enforcer.submit({
      tenantId: resolved.tenantId,
      connectorId: resolved.connector.connectorId,
      relayPath: resolved.connector.relayPath,
      sender: request.get('sender') ?? '',
      clientAddress: query.clientAddress,
      queueId,
      relayHost: relayName(request.get('policy_context'), relayAddress),
      // An Avro int in MessageSubmitted: a larger count is not a message Postfix could have accepted.
      recipientCount: count(request, 'recipient_count', 2 ** 31 - 1),
      sizeBytes: count(request, 'size'),
    });
    // A full spool: the relay retries later (and the message is counted then), or relays it uncounted.
    return submission.outcome === 'spool-full' && submission.action === 'defer' ? SPOOL_FULL_DEFER : 'DUNNO';
  }

  #resolve(query: ReturnType<typeof client>) {
    try {
      return this.#enforcer.resolve(query);
    } catch (error) {
      throw invalidInput(error);
    }
  }
}

/** The client identity of a request; a certificate subject that is not a domain name identifies nothing. */
function client(request: PolicyRequest): { clientAddress?: string; certificateDomain?: string } {
  const clientAddress = request.get('client_address') || undefined;
  const subject = request.get('ccert_subject');
  if (!subject) return { clientAddress };
  try {
    return { clientAddress, certificateDomain: normalizeDomain(decodeXtext(subject), 'ccert_subject') };
  } catch {
    return { clientAddress };
  }
}

/** What `policy_context` may hold to be shown as the relay's name: a host name, as `$myhostname` gives. */
const RELAY_NAME = /^[A-Za-z0-9._-]{1,253}$/;

/**
 * The relay as events name it, and so the prefix of their ids (`<relayHost>/<queue id>`): its address, which the
 * connection proves, after the name it gives itself in `policy_context`, if any, in Postfix's own `name[address]`
 * form. A client naming itself as another relay gets its own address beside that name, so it can neither hide
 * behind the other relay nor collide with its event ids: a name has no `[` or `/`, so the address in an id is
 * always the one inside its first brackets, or all of it before the first `/` when the relay gave no name. A
 * `policy_context` that is not a host name is not shown.
 */
export function relayName(policyContext: string | undefined, relayAddress: string): string {
  return policyContext && RELAY_NAME.test(policyContext) ? `${policyContext}[${relayAddress}]` : relayAddress;
}

function count(request: PolicyRequest, name: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = request.get(name) ?? '0';
  if (!/^\d{1,10}$/.test(value) || Number(value) > max)
    throw new InvalidPolicyRequest(`${name} is not a count (0 to ${max})`);
  return Number(value);
}

function invalidInput(error: unknown): unknown {
  return isRelayguardError(error) && !error.retryable ? new InvalidPolicyRequest(error.message) : error;
}

/**
 * xtext (RFC 3461): `+XX` stands for the byte 0xXX; Postfix encodes the ccert_* attributes so. A run of encoded
 * bytes is decoded together, as it may be one multi-byte UTF-8 character.
 */
export function decodeXtext(value: string): string {
  return value.replace(/(?:\+[0-9A-Fa-f]{2})+/g, (run) =>
    Buffer.from(run.replaceAll('+', ''), 'hex').toString('utf8'),
  );
}
