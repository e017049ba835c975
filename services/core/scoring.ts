// The scorer's heart, a fold: (a tenant's window, its events in log order) -> (new window, block events).
// Pure: the shell loads the window, calls this, publishes the emits, then stores the window.

import { blockEvent } from './block-event.js';
import { chooseScope, type ScopeFields, widening } from './block-scope.js';
import {
  type AcceptedDomainLookup,
  classify,
  isRegistered,
  type MessageClass,
  type ValidMessage,
} from './classify.js';
import type { BlockReason, TenantBlockEvent, TenantBlocked, Thresholds } from './contracts.generated.js';
import { FIRST_GENERATION } from './episodes.js';
import { type EffectivePolicy, effectivePolicy, evaluate, type Policy, type WindowCounts } from './policy.js';
import { PolicyTerms, type TenantTerms, type TermsSource } from './tenant-terms.js';
import {
  addToWindow,
  type CountsSlot,
  cloneWindow,
  countsSlot,
  emptyWindow,
  type LogPosition,
  resetWindow,
  type TenantWindow,
  UNKNOWN_CONNECTOR,
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

export interface ScoreResult {
  readonly window: TenantWindow;
  readonly emits: TenantBlockEvent[];
  /** One entry per input message, in order: what happened to it (two flat lists: no object per message). */
  readonly outcomes: ScoreOutcome[];
  /** One entry per input message, in order: how it was classified. */
  readonly classes: MessageClass[];
  /** For each emitted block, by block id: the event that triggered it. */
  readonly triggers: Map<string, BlockTrigger>;
}

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
interface ScoreSlot {
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

function scoreSlot(): ScoreSlot {
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
  scoreInto(slot, window, tenantId, position, message, policy, context, terms, eventId ?? null, null);
  return slot;
}

function scoreInto(
  slot: ScoreSlot,
  window: TenantWindow,
  tenantId: string,
  position: LogPosition | null,
  message: ValidMessage,
  policy: Policy,
  context: TenantContext,
  terms: TenantTerms,
  eventId: string | null,
  changes: WindowChanges | null,
): void {
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
      widenIfMoved(slot, window, tenantId, open, message.occurredAt, effective, policy, context);
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
  decideBlock(slot, window, tenantId, message.occurredAt, reason, effective, policy, context, scope);
}

/** Publishes a block of this scope (into the slot) and makes it the window's open episode. */
function decideBlock(
  slot: ScoreSlot,
  window: TenantWindow,
  tenantId: string,
  at: number,
  reason: BlockReason,
  effective: EffectivePolicy,
  policy: Policy,
  context: TenantContext,
  scope: ScopeFields,
): void {
  const emit = blockEvent(tenantId, window, at, reason, slot.counts!, effective, policy, context, scope);
  const { blockId } = emit.blocked!;
  if (effective.mode === 'ENFORCE') window.activeBlockId = blockId;
  else window.monitorBlockId = blockId;
  window.blockedConnectors = scope.scope === 'CONNECTOR' ? scope.connectorIds : null;
  slot.emit = emit;
}

/**
 * Under `auto`, widens the window's connector-scoped block `open` to the tenant when the tenant's other
 * connectors fire on their own: the spam moved. A tenant block already in force (an operator widened it, or
 * another fold did) is taken as the episode instead.
 */
function widenIfMoved(
  slot: ScoreSlot,
  window: TenantWindow,
  tenantId: string,
  open: string,
  at: number,
  effective: EffectivePolicy,
  policy: Policy,
  context: TenantContext,
): void {
  const blocked = window.blockedConnectors!;
  const { thresholds, forwardedWeight } = effective;
  const moved = widening(window, blocked, slot.counts!, thresholds, forwardedWeight, slot.rest, open);
  if (moved === null) return;
  const inForce = context.enforcedBlock(tenantId);
  if (inForce?.scope === 'TENANT' && inForce.blockId !== open) {
    adopt(window, inForce);
    return;
  }
  decideBlock(slot, window, tenantId, at, moved.reason, effective, policy, context, moved.scope);
}

/** Takes the block in force as the window's episode, with what it covers. */
function adopt(window: TenantWindow, inForce: BlockInForce): void {
  window.activeBlockId = inForce.blockId;
  window.blockedConnectors = inForce.scope === 'CONNECTOR' ? inForce.connectorIds : null;
}

/** The monitor-mode episode closes when the counts fall below the thresholds. */
function closeMonitorEpisode(window: TenantWindow): void {
  window.monitorBlockId = null;
  if (window.activeBlockId === null) window.blockedConnectors = null;
}

/** Where a fold puts what it found: the blocks with their triggering events, and each message's outcome. */
interface FoldSink {
  readonly emits: TenantBlockEvent[];
  readonly triggers: Map<string, BlockTrigger>;
  scored(outcome: ScoreOutcome, messageClass: MessageClass): void;
}

function foldInto(
  sink: FoldSink,
  slot: ScoreSlot,
  window: TenantWindow,
  tenantId: string,
  messages: readonly PositionedMessage[],
  policy: Policy,
  context: TenantContext,
  terms: TenantTerms,
  changes: WindowChanges | null,
): void {
  applyGeneration(window, tenantId, context, changes);
  for (const { position, message, eventId, queueId } of messages) {
    scoreInto(slot, window, tenantId, position, message, policy, context, terms, eventId ?? null, changes);
    sink.scored(slot.outcome, slot.messageClass);
    const emit = slot.emit;
    if (emit) {
      sink.emits.push(emit);
      sink.triggers.set(emit.eventId, { position, eventId: eventId ?? null, queueId: queueId ?? null });
    }
  }
}

/**
 * Folds a tenant's messages into `window`, which it changes in place and returns as the result's window: for
 * callers that own it (the scorer's freshly loaded copy, a benchmark's map), so no copy is made per batch.
 */
export function foldTenant(
  window: TenantWindow,
  tenantId: string,
  messages: readonly PositionedMessage[],
  policy: Policy,
  context: TenantContext,
): ScoreResult {
  const outcomes: ScoreOutcome[] = [];
  const classes: MessageClass[] = [];
  const sink: FoldSink = {
    emits: [],
    triggers: new Map(),
    scored(outcome, messageClass) {
      outcomes.push(outcome);
      classes.push(messageClass);
    },
  };
  const terms = new PolicyTerms(policy).of(context, tenantId);
  foldInto(sink, scoreSlot(), window, tenantId, messages, policy, context, terms, null);
  return { window, emits: sink.emits, outcomes, classes, triggers: sink.triggers };
}

/**
 * A batch folded tenant by tenant into one result: the blocks to publish, and how many messages had each outcome
 * and each class (the scorer's metrics). Unlike foldTenant it keeps no list per tenant or per message.
 */
export class BatchFold implements FoldSink {
  readonly emits: TenantBlockEvent[] = [];
  readonly triggers = new Map<string, BlockTrigger>();
  readonly outcomes: Record<ScoreOutcome, number> = {
    counted: 0,
    late: 0,
    'before-reset': 0,
    duplicate: 0,
    republished: 0,
  };
  /** Duplicates and republished events are left out: they were classified when they were first counted. */
  readonly classes: Record<MessageClass, number> = {
    registered: 0,
    unregistered: 0,
    forwarded: 0,
    unknown: 0,
  };
  readonly #slot = scoreSlot();
  readonly #policy: Policy;
  readonly #terms: PolicyTerms;
  readonly #context: TenantContext;

  constructor(policy: Policy, context: TenantContext) {
    this.#policy = policy;
    this.#terms = new PolicyTerms(policy);
    this.#context = context;
  }

  /**
   * Folds a tenant's messages into `window`, in place (the caller owns it, as for foldTenant), recording what
   * changed into `changes` when given (a cache that saves only that).
   */
  tenant(
    window: TenantWindow,
    tenantId: string,
    messages: readonly PositionedMessage[],
    changes: WindowChanges | null = null,
  ): void {
    const terms = this.#terms.of(this.#context, tenantId);
    foldInto(this, this.#slot, window, tenantId, messages, this.#policy, this.#context, terms, changes);
  }

  scored(outcome: ScoreOutcome, messageClass: MessageClass): void {
    this.outcomes[outcome]++;
    if (outcome !== 'duplicate' && outcome !== 'republished') this.classes[messageClass]++;
  }
}

/** foldTenant on a copy: `previous` is left as it was, for callers that still need it. */
export function scoreTenant(
  previous: TenantWindow | undefined,
  tenantId: string,
  messages: readonly PositionedMessage[],
  policy: Policy,
  context: TenantContext,
): ScoreResult {
  return foldTenant(previous ? cloneWindow(previous) : emptyWindow(), tenantId, messages, policy, context);
}
