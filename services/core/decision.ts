// The relay's answer for one message: reject unregistered senders of a tenant under an enforced block.
import { isRegistered } from './classify.js';
import { isEnforcedBlock, type TenantDirectory } from './directory.js';

export const BLOCK_REPLY = {
  code: 550,
  enhancedCode: '5.7.750',
  text: 'Service unavailable. Client blocked from sending from unregistered domains',
} as const;

export type Decision =
  | {
      readonly action: 'REJECT';
      readonly code: 550;
      readonly enhancedCode: '5.7.750';
      readonly text: string;
      readonly blockId: string;
    }
  | { readonly action: 'ACCEPT'; readonly reason: AcceptReason };

export type AcceptReason = 'not-blocked' | 'registered-domain' | 'null-sender' | 'monitor-mode';

export interface SmtpReply {
  readonly code: number;
  readonly enhancedCode: string;
  readonly text: string;
}

/**
 * The policy-protocol action for an answer (SMTPD_POLICY_README: `action=<code> <text>` rejects or defers,
 * `action=DUNNO` lets the relay's other restrictions decide).
 */
export function replyLine(
  answer: { readonly action: 'ACCEPT' } | (SmtpReply & { readonly action: string }),
): string {
  return 'code' in answer ? `${answer.code} ${answer.enhancedCode} ${answer.text}` : 'DUNNO';
}

/** A sender whose domain part is not a valid domain name: it can never be one of the tenant's domains. */
export const INVALID_SENDER_DOMAIN: unique symbol = Symbol('invalid sender domain');

/**
 * `senderDomain` is the normalized envelope (or header From) domain; null when the message has none;
 * INVALID_SENDER_DOMAIN when it has one that does not normalize, so a blocked tenant cannot slip spam through
 * with an address literal or a malformed domain.
 */
export function decide(
  directory: TenantDirectory,
  tenantId: string,
  senderDomain: string | null | typeof INVALID_SENDER_DOMAIN,
): Decision {
  const record = directory.tenant(tenantId);
  if (!record?.block) return { action: 'ACCEPT', reason: 'not-blocked' };
  if (!isEnforcedBlock(record)) return { action: 'ACCEPT', reason: 'monitor-mode' };
  // A bounce (null sender, no header From) cannot be attributed to a domain: it is not spam from one.
  if (senderDomain === null) return { action: 'ACCEPT', reason: 'null-sender' };
  if (senderDomain !== INVALID_SENDER_DOMAIN && isRegistered(directory, tenantId, senderDomain))
    return { action: 'ACCEPT', reason: 'registered-domain' };
  return { action: 'REJECT', ...BLOCK_REPLY, blockId: record.block.blockId };
}
