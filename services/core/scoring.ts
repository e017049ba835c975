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
import { FIRST_GENERATION } from './episodes.js';
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

export interface PositionedMessage {
  readonly position: LogPosition;
  readonly message: ValidMessage;
  /** The event's own id and the relay's queue id: carried through so a block names the event that tipped it. */
  readonly eventId?: string;
  readonly queueId?: string | null;
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
   * The generation of the tenant's block episodes in the materialized tenant-blocks state (core/episodes.ts): a
   * window that applied an older one is reset before anything is folded into it.
   */
  generation(tenantId: string): number;
  /**
   * The enforce-mode block in force, if any (the window may have expired while the tenant stayed blocked), with
   * what it covers.
   */
  enforcedBlock(tenantId: string): BlockInForce | null;
}

export type BlockInForce = Pick<TenantBlocked, 'blockId' | 'scope' | 'connectorIds'>;

/** The block state of a run that starts from no blocks and lifts none (a backtest, a benchmark). */
export const NO_BLOCK_STATE: Pick<TenantContext, 'generation' | 'enforcedBlock'> = {
  generation: () => FIRST_GENERATION,
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
  tenantId: string,
  context: TenantContext,
  changes: WindowChanges | null = null,
): void {
  const generation = context.generation(tenantId);
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
  eventId?: string,
): MessageScore {
  const slot = scoreSlot();
  applyGeneration(window, tenantId, context);
  const tenant: TenantScoring = { tenantId, policy, context, terms, changes: null };
  scoreInto(slot, window, tenant, position, message, eventId ?? null);
  return slot;
}

/** scoreMessage into a slot the caller reuses message after message (the fold's). */
export function scoreInto(
  slot: ScoreSlot,
  window: TenantWindow,
  tenant: TenantScoring,
  position: LogPosition | null,
  message: ValidMessage,
  eventId: string | null,
): void {
  const { tenantId, policy, context, terms, changes } = tenant;
  const registered = message.senderDomain !== null && isRegistered(context, tenantId, message.senderDomain);
  slot.messageClass = classify(message.senderDomain, message.relayPath, registered);
  slot.counts = null;
  slot.thresholds = null;
  slot.emit = null;
  if (position !== null) {
    if (alreadyApplied(window, position)) {
      slot.outcome = 'duplicate';
      return;
    }
    window.watermark = position;
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
