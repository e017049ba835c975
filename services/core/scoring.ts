// Scoring one message of a tenant: classified, counted into the tenant's window (once, by its log position and
// event id), and held against the policy, which may decide a block (core/block-scope.ts). The fold over a
// tenant's messages is core/fold.ts.

import { adopt, chooseScope, closeMonitorEpisode, decideBlock, widenIfMoved } from './block-scope.js';
import {
  type AcceptedDomainLookup,
  classify,
  isRegistered,
  type MessageClass,
  type ValidMessage,
} from './classify.js';
import { UNKNOWN_CONNECTOR } from './connector-windows.js';
import type { TenantBlockEvent, TenantBlocked, Thresholds } from './contracts.generated.js';
import { effectivePolicy, evaluate, type Policy, type WindowCounts } from './policy.js';
import type { TenantTerms, TermsSource } from './tenant-terms.js';
import {
  addToWindow,
  type CountsSlot,
  countsSlot,
  type LogPosition,
  resetWindow,
  type TenantWindow,
  type WindowChanges,
  type WindowOutcome,
  windowCounts,
} from './windows.js';

/**
 * A message with its log position, as the fold takes it: one object per event (the decoder builds it so), which
 * the fold keeps no longer than the batch.
 */
export interface PositionedMessage extends ValidMessage, LogPosition {
  /** The event's own id and the relay's queue id: carried through so a block names the event that tipped it. */
  readonly eventId: string | null;
  readonly queueId: string | null;
}

/**
 * A message at a log position, as the fold takes it. Its fields in this order, wherever one is built (the
 * decoder's too): messages of one shape keep the fold's property reads monomorphic.
 */
export function positioned(
  message: ValidMessage,
  position: LogPosition,
  eventId: string | null = null,
  queueId: string | null = null,
): PositionedMessage {
  const { tenantId, occurredAt, senderDomain, relayPath, connectorId } = message;
  const { partition, offset } = position;
  return { tenantId, occurredAt, senderDomain, relayPath, connectorId, partition, offset, eventId, queueId };
}

/** The event whose counting made the policy decide: the link from a relay queue id to a block. */
export interface BlockTrigger {
  readonly position: LogPosition;
  readonly eventId: string | null;
  readonly queueId: string | null;
}

export interface TenantContext extends AcceptedDomainLookup, TermsSource {
  connectorCreatedAt(tenantId: string, connectorId: string): number | null;
  /**
   * The enforce-mode block in force, if any (the window may have expired while the tenant stayed blocked), with
   * what it covers.
   */
  enforcedBlock(tenantId: string): BlockInForce | null;
}

export type BlockInForce = Pick<TenantBlocked, 'blockId' | 'scope' | 'connectorIds'>;

/**
 * The block state of a run that starts from no blocks (a backtest, a benchmark); one that lifts none either has
 * every tenant's standing at NO_STANDING's generation.
 */
export const NO_BLOCK_STATE: Pick<TenantContext, 'enforcedBlock'> = {
  enforcedBlock: () => null,
};

export type ScoreOutcome = WindowOutcome | 'duplicate';

/** Compares Kafka offsets (int64 as decimal strings) without losing precision. */
export function offsetAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

function alreadyApplied(window: TenantWindow, position: LogPosition): boolean {
  const mark = window.watermark;
  return mark !== null && mark.partition === position.partition && !offsetAfter(position.offset, mark.offset);
}

export interface MessageScore {
  readonly outcome: ScoreOutcome;
  readonly messageClass: MessageClass;
  /** The window's counts right after the message, and the thresholds held against them; null unless counted. */
  readonly counts: WindowCounts | null;
  readonly thresholds: Thresholds | null;
  /** The block decision this message triggered, if any. */
  readonly emit: TenantBlockEvent | null;
}

/** A MessageScore the fold overwrites message after message, so that counting a message allocates nothing. */
export interface ScoreSlot {
  outcome: ScoreOutcome;
  messageClass: MessageClass;
  counts: WindowCounts | null;
  thresholds: Thresholds | null;
  emit: TenantBlockEvent | null;
  /** Where `counts` are written when the message is counted. */
  readonly tally: CountsSlot;
  /** Where the counts of the tenant without its blocked connectors are written (a connector-scoped block). */
  readonly rest: CountsSlot;
}

export function scoreSlot(): ScoreSlot {
  return {
    outcome: 'counted',
    messageClass: 'unknown',
    counts: null,
    thresholds: null,
    emit: null,
    tally: countsSlot(),
    rest: countsSlot(),
  };
}

/**
 * Resets a window that has not applied the tenant's current generation (an unblock it has not seen): whether it
 * was loaded from the store or kept in a cache, nothing is folded into evidence the unblock lifted.
 */
export function applyGeneration(
  window: TenantWindow,
  generation: number,
  changes: WindowChanges | null = null,
): void {
  if (generation > window.resetAt) resetWindow(window, generation, changes);
}

/**
 * What scoring a tenant's messages reads besides the window and the message: resolved once per tenant of a batch,
 * not per message.
 */
export interface TenantScoring {
  readonly tenantId: string;
  readonly policy: Policy;
  readonly context: TenantContext;
  readonly terms: TenantTerms;
  /** Where what the messages change is recorded (a cache that saves only that), or null. */
  readonly changes: WindowChanges | null;
}

/**
 * Folds one message into `window`, which it changes in place (the caller owns it: foldTenant's caller does).
 * A null position means the message has no log position (a backtest reading a file): it is counted and the
 * watermark is left alone. An event id already counted in its minute is not counted again.
 */
export function scoreMessage(
  window: TenantWindow,
  tenantId: string,
  position: LogPosition | null,
  message: ValidMessage,
  policy: Policy,
  context: TenantContext,
  terms: TenantTerms,
  eventId: string | null = null,
): MessageScore {
  const slot = scoreSlot();
  applyGeneration(window, terms.generation);
  const duplicate = position !== null && alreadyApplied(window, position);
  if (position !== null && !duplicate) window.watermark = position;
  const tenant: TenantScoring = { tenantId, policy, context, terms, changes: null };
  scoreInto(slot, window, tenant, message, eventId, duplicate);
  return slot;
}

/**
 * scoreMessage into a slot the caller reuses message after message (the fold's), the caller having checked the
 * message's position against the window's watermark (`duplicate`: at or below it) and moved the watermark.
 */
export function scoreInto(
  slot: ScoreSlot,
  window: TenantWindow,
  tenant: TenantScoring,
  message: ValidMessage,
  eventId: string | null,
  duplicate: boolean,
): void {
  const { tenantId, policy, context, terms, changes } = tenant;
  const registered = message.senderDomain !== null && isRegistered(context, tenantId, message.senderDomain);
  slot.messageClass = classify(message.senderDomain, message.relayPath, registered);
  slot.counts = null;
  slot.thresholds = null;
  slot.emit = null;
  if (duplicate) {
    slot.outcome = 'duplicate';
    return;
  }
  const effective =
    terms.steady ?? effectivePolicy(policy, terms.overrides, terms.probationUntil, message.occurredAt);
  slot.outcome = addToWindow(
    window,
    message,
    slot.messageClass,
    policy,
    effective.forwardedWeight,
    eventId,
    changes,
  );
  if (slot.outcome !== 'counted') return;

  const counts = windowCounts(window, effective.forwardedWeight, slot.tally);
  const thresholds = effective.thresholds;
  slot.counts = counts;
  slot.thresholds = thresholds;
  const open = window.activeBlockId ?? window.monitorBlockId;
  if (open !== null) {
    // Only mail of a connector the block leaves open can make the rest of the tenant fire.
    const connectorId = message.connectorId ?? UNKNOWN_CONNECTOR;
    if (window.blockedConnectors?.includes(connectorId) === false && policy.blockScope === 'auto')
      slot.emit = widenIfMoved(window, tenant, open, message.occurredAt, effective, counts, slot.rest);
  }
  const reason = evaluate(thresholds, counts);
  if (reason === null) {
    if (window.monitorBlockId !== null) closeMonitorEpisode(window);
    return;
  }
  if (open !== null) return;
  // The block in force is this window's episode even when another fold decided it (a redelivered batch after
  // its block was published): recorded, so that the unblock that lifts it resets this window too.
  const inForce = context.enforcedBlock(tenantId);
  if (inForce !== null) {
    adopt(window, inForce);
    return;
  }
  const scope = chooseScope({
    window,
    counts,
    thresholds,
    forwardedWeight: effective.forwardedWeight,
    blockScope: policy.blockScope,
    createdAt: (connectorId) => context.connectorCreatedAt(tenantId, connectorId),
    at: message.occurredAt,
  });
  slot.emit = decideBlock(window, tenant, message.occurredAt, reason, counts, effective, scope);
}
