// The relay's answer for one message: reject unregistered senders of a tenant under an enforced block, when the
// block covers the connector the message arrives on (a CONNECTOR-scoped block covers only its connectorIds).
import { type AcceptedDomainLookup, isRegistered } from './classify.js';
import type { BlockScope, TenantBlocked } from './contracts.generated.js';
import { isEnforcedBlock } from './tenant-record.js';

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
      /** What the block covers: the whole tenant, or the connector the message arrived on. */
      readonly scope: BlockScope;
    }
  | { readonly action: 'ACCEPT'; readonly reason: AcceptReason };

export type AcceptReason =
  | 'not-blocked'
  | 'registered-domain'
  | 'null-sender'
  | 'monitor-mode'
  /** The tenant's block covers other connectors than the one the message arrived on (or it arrived on none known). */
  | 'connector-not-blocked';

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

/**
 * `senderDomain` is what `senderDomainOf` gives for the envelope sender (or header From): the normalized domain,
 * a SENDERLESS stand-in for an address literal or an unparsable address (never registered, so a blocked tenant
 * cannot slip spam through in such a form), or null for the null sender. A blocked tenant's null-sender mail is
 * answered `null-sender` here; the enforcer lets only a trickle of it through (bounces flow, a flood does not).
 * `connectorId` is the connector the client resolved to, null when none did (the relay named only the tenant): a
 * CONNECTOR-scoped block refuses only mail of its connectors, so mail of no known connector is refused only by a
 * TENANT-scoped block (the policy never scopes a block to connectors when unknown clients carried the flood).
 */
export function decide(
  directory: DecisionDirectory,
  tenantId: string,
  senderDomain: string | null,
  connectorId: string | null,
): Decision {
  const record = directory.tenant(tenantId);
  const block = record?.block;
  if (!block) return { action: 'ACCEPT', reason: 'not-blocked' };
  if (!isEnforcedBlock(record)) return { action: 'ACCEPT', reason: 'monitor-mode' };
  if (!coversConnector(block, connectorId)) return { action: 'ACCEPT', reason: 'connector-not-blocked' };
  if (senderDomain === null) return { action: 'ACCEPT', reason: 'null-sender' };
  if (isRegistered(directory, tenantId, senderDomain))
    return { action: 'ACCEPT', reason: 'registered-domain' };
  return blocked(block);
}

/** Whether a block refuses mail arriving on this connector (null: on no known connector). */
export function coversConnector(
  block: Pick<TenantBlocked, 'scope' | 'connectorIds'>,
  connectorId: string | null,
): boolean {
  return block.scope === 'TENANT' || (connectorId !== null && block.connectorIds.includes(connectorId));
}

/** What a decision reads: the whole directory (directory.ts) or the enforcer's index (enforcer-index.ts). */
export interface DecisionDirectory extends AcceptedDomainLookup {
  tenant(tenantId: string): { readonly block: DecidingBlock | null } | undefined;
}

/** What a decision reads of the block in force (the enforcer's index keeps little more). */
export type DecidingBlock = Pick<TenantBlocked, 'blockId' | 'mode' | 'scope' | 'connectorIds'>;

/** The rejection of a blocked tenant's mail. */
export function blocked(block: Pick<TenantBlocked, 'blockId' | 'scope'>): Decision {
  return { action: 'REJECT', ...BLOCK_REPLY, blockId: block.blockId, scope: block.scope };
}
