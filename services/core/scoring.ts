// The scorer's heart, a fold: (a tenant's window, its events in log order) -> (new window, block events).
// Pure: the shell loads the window, calls this, publishes the emits, then stores the window.
import {
  type AcceptedDomainLookup,
  classify,
  isRegistered,
  type MessageClass,
  type ValidMessage,
} from './classify.js';
import type { ConnectorVolume, TenantBlockEvent, Thresholds } from './contracts.generated.js';
import {
  type EffectivePolicy,
  effectivePolicy,
  evaluate,
  POLICY_VERSION,
  type Policy,
  type PolicyOverrides,
  type WindowCounts,
} from './policy.js';
import {
  addToWindow,
  cloneWindow,
  emptyWindow,
  type LogPosition,
  type TenantWindow,
  topTracked,
  type WindowOutcome,
  windowCounts,
  windowSpan,
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

export interface TenantContext extends AcceptedDomainLookup {
  policyOverrides(tenantId: string): PolicyOverrides | undefined;
  probationUntil(tenantId: string): number | null;
  connectorCreatedAt(tenantId: string, connectorId: string): number | null;
  /** Whether an enforce-mode block is in force (the window may have expired while the tenant stayed blocked). */
  isBlocked(tenantId: string): boolean;
}

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

const TOP_EVIDENCE = 10;

/** Compares Kafka offsets (int64 as decimal strings) without losing precision. */
export function offsetAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

function alreadyApplied(window: TenantWindow, position: LogPosition): boolean {
  const mark = window.watermark;
  return mark !== null && mark.partition === position.partition && !offsetAfter(position.offset, mark.offset);
}

export function blockIdFor(tenantId: string, windowEnd: number): string {
  return `${tenantId}@${new Date(windowEnd).toISOString().slice(0, 16)}Z`;
}

/** What one tenant's terms are while a batch is scored: read once per tenant, not per message. */
export interface TenantTerms {
  readonly overrides: PolicyOverrides | undefined;
  readonly probationUntil: number | null;
  /** The effective policy when it cannot change with event time (no probation): computed once, not per message. */
  readonly steady: EffectivePolicy | null;
}

export function tenantTerms(context: TenantContext, tenantId: string, policy: Policy): TenantTerms {
  const overrides = context.policyOverrides(tenantId);
  const probationUntil = context.probationUntil(tenantId);
  const steady = probationUntil === null ? effectivePolicy(policy, overrides, null, 0) : null;
  return { overrides, probationUntil, steady };
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

/**
 * Folds one message into `window`, which it changes in place (the caller owns it: foldTenant's caller does).
 * A null position means the message has no log position (a backtest reading a file): it is counted and the
 * watermark is left alone.
 */
export function scoreMessage(
  window: TenantWindow,
  tenantId: string,
  position: LogPosition | null,
  message: ValidMessage,
  policy: Policy,
  context: TenantContext,
  terms: TenantTerms,
): MessageScore {
  const registered = message.senderDomain !== null && isRegistered(context, tenantId, message.senderDomain);
  const messageClass = classify(message.senderDomain, message.relayPath, registered);
  if (position !== null) {
    if (alreadyApplied(window, position))
      return { outcome: 'duplicate', messageClass, counts: null, thresholds: null, emit: null };
    window.watermark = position;
  }
  const effective =
    terms.steady ?? effectivePolicy(policy, terms.overrides, terms.probationUntil, message.occurredAt);
  const outcome = addToWindow(window, message, messageClass, policy, effective.forwardedWeight);
  if (outcome !== 'counted') return { outcome, messageClass, counts: null, thresholds: null, emit: null };

  const counts = windowCounts(window, effective.forwardedWeight);
  const thresholds = effective.thresholds;
  const reason = evaluate(thresholds, counts);
  if (reason === null) {
    window.monitorBlockId = null;
    return { outcome, messageClass, counts, thresholds, emit: null };
  }
  if (window.activeBlockId !== null || window.monitorBlockId !== null || context.isBlocked(tenantId))
    return { outcome, messageClass, counts, thresholds, emit: null };

  const span = windowSpan(window, policy.windowMinutes);
  const blockId = blockIdFor(tenantId, span.end);
  if (effective.mode === 'ENFORCE') window.activeBlockId = blockId;
  else window.monitorBlockId = blockId;
  const emit: TenantBlockEvent = {
    eventId: blockId,
    tenantId,
    occurredAt: message.occurredAt,
    kind: 'BLOCKED',
    unblocked: null,
    blocked: {
      blockId,
      mode: effective.mode,
      reason,
      policyVersion: POLICY_VERSION,
      probation: effective.probation,
      evidence: {
        windowStart: span.start,
        windowEnd: span.end,
        unregistered: counts.unregistered,
        forwardedUnregistered: counts.forwardedUnregistered,
        total: counts.total,
        distinctUnregisteredDomains: counts.distinctUnregisteredDomains,
        thresholds,
        topDomains: topTracked(window.domains, TOP_EVIDENCE).map(([domain, t]) => ({
          domain,
          messages: t.messages,
        })),
        connectors: topTracked(window.connectors, TOP_EVIDENCE).map(
          ([connectorId, t]): ConnectorVolume => ({
            connectorId,
            messages: t.messages,
            createdAt: context.connectorCreatedAt(tenantId, connectorId),
          }),
        ),
      },
    },
  };
  return { outcome, messageClass, counts, thresholds, emit };
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
  const emits: TenantBlockEvent[] = [];
  const outcomes: ScoreResult['outcomes'] = [];
  const classes: ScoreResult['classes'] = [];
  const triggers: ScoreResult['triggers'] = new Map();
  const terms = tenantTerms(context, tenantId, policy);
  for (const { position, message, eventId, queueId } of messages) {
    const score = scoreMessage(window, tenantId, position, message, policy, context, terms);
    outcomes.push(score.outcome);
    classes.push(score.messageClass);
    if (score.emit) {
      emits.push(score.emit);
      triggers.set(score.emit.eventId, { position, eventId: eventId ?? null, queueId: queueId ?? null });
    }
  }
  return { window, emits, outcomes, classes, triggers };
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
