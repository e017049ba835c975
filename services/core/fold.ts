// The scorer's heart, a fold: (a tenant's window, its events in log order) -> (new window, block events), each
// message scored as core/scoring.ts does. Pure: the shell loads the window, calls this, publishes the emits, then
// stores the window.
import type { MessageClass } from './classify.js';
import type { TenantBlockEvent } from './contracts.generated.js';
import type { Policy } from './policy.js';
import {
  applyGeneration,
  type BlockTrigger,
  offsetAfter,
  type PositionedMessage,
  type ScoreOutcome,
  type ScoreSlot,
  scoreInto,
  scoreSlot,
  type TenantContext,
  type TenantScoring,
} from './scoring.js';
import { PolicyTerms } from './tenant-terms.js';
import { cloneWindow, emptyWindow, type TenantWindow, type WindowChanges } from './windows.js';

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
  tenant: TenantScoring,
  messages: readonly PositionedMessage[],
): void {
  applyGeneration(window, tenant.terms.generation, tenant.changes);
  // The watermark as the messages move it, in locals: the window gets one new position, the last one applied, not
  // each message's (nothing reads it while the tenant's messages are folded).
  const mark = window.watermark;
  let partition = mark === null ? -1 : mark.partition;
  let offset = mark === null ? '' : mark.offset;
  let applied: PositionedMessage | null = null;
  try {
    for (const message of messages) {
      const duplicate = message.partition === partition && !offsetAfter(message.offset, offset);
      if (!duplicate) {
        partition = message.partition;
        offset = message.offset;
        applied = message;
      }
      scoreInto(slot, window, tenant, message, message.eventId, duplicate);
      sink.scored(slot.outcome, slot.messageClass);
      const emit = slot.emit;
      if (emit) {
        sink.emits.push(emit);
        const position = { partition: message.partition, offset: message.offset };
        sink.triggers.set(emit.eventId, { position, eventId: message.eventId, queueId: message.queueId });
      }
    }
  } finally {
    if (applied !== null) window.watermark = { partition: applied.partition, offset: applied.offset };
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
  foldInto(sink, scoreSlot(), window, { tenantId, policy, context, terms, changes: null }, messages);
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
  readonly #terms: PolicyTerms;
  /** The tenant being folded: one object the fold rewrites tenant after tenant, not one per tenant. */
  readonly #tenant: { -readonly [K in keyof TenantScoring]: TenantScoring[K] };

  constructor(policy: Policy, context: TenantContext) {
    this.#terms = new PolicyTerms(policy);
    this.#tenant = { tenantId: '', policy, context, terms: this.#terms.plain, changes: null };
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
    const tenant = this.#tenant;
    tenant.tenantId = tenantId;
    tenant.terms = this.#terms.of(tenant.context, tenantId);
    tenant.changes = changes;
    foldInto(this, this.#slot, window, tenant, messages);
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
