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

/** The policy-protocol action line body for a decision (SMTPD_POLICY_README: `action=<code> <text>`). */
export function replyLine(decision: Decision): string {
  return decision.action === 'REJECT'
    ? `${decision.code} ${decision.enhancedCode} ${decision.text}`
    : 'DUNNO';
}

/** `senderDomain` is the normalized envelope (or header From) domain; null when the message has none. */
export function decide(directory: TenantDirectory, tenantId: string, senderDomain: string | null): Decision {
  const record = directory.tenant(tenantId);
  if (!record?.block) return { action: 'ACCEPT', reason: 'not-blocked' };
  if (!isEnforcedBlock(record)) return { action: 'ACCEPT', reason: 'monitor-mode' };
  // A bounce (null sender, no header From) cannot be attributed to a domain: it is not spam from one.
  if (senderDomain === null) return { action: 'ACCEPT', reason: 'null-sender' };
  if (isRegistered(directory, tenantId, senderDomain))
    return { action: 'ACCEPT', reason: 'registered-domain' };
  return { action: 'REJECT', ...BLOCK_REPLY, blockId: record.block.blockId };
}
