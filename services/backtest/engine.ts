// The backtest: recorded MessageSubmitted events folded, in event time, through one or more policies with the
// scorer's own per-message step (core/scoring.ts scoreMessage), one in-memory window per tenant per policy.
// Nothing is published or stored: production state is never touched. Pure apart from the caller's events.
import {
  MESSAGE_CLASSES,
  type MessageClass,
  type ScoredEvent,
  type ValidMessage,
  validateMessage,
} from '../core/classify.js';
import type { TenantDirectory } from '../core/directory.js';
import { isRelayguardError } from '../core/errors.js';
import type { Policy } from '../core/policy.js';
import { NO_BLOCK_STATE, type ScoreOutcome, type TenantContext } from '../core/scoring.js';
import { NO_STANDING } from '../core/tenant-terms.js';
import { spamLabel } from './event-lines.js';
import {
  type BlockDecision,
  compare,
  type NamedPolicy,
  type NearTenant,
  PolicyRun,
  type TenantPlot,
} from './policy-run.js';
import type { RefusalReport } from './refusals.js';

export type { BlockDecision, NamedPolicy, NearTenant, TenantPlot } from './policy-run.js';
export { NEAR_PROXIMITY } from './policy-run.js';
export type { RefusalReport, SpamBlock } from './refusals.js';

export interface PolicyDiff {
  /** Blocked under this policy, not under the policy in force. */
  readonly newlyBlocked: readonly string[];
  /** Blocked under the policy in force, not under this one. */
  readonly noLongerBlocked: readonly string[];
  /** Blocked under both, at different times: positive `byMs` means this policy blocks later. */
  readonly blockedAtAnotherTime: readonly { readonly tenantId: string; readonly byMs: number }[];
  readonly newlyNear: readonly string[];
  readonly noLongerNear: readonly string[];
}

export interface PolicyReport {
  readonly name: string;
  readonly inForce: boolean;
  readonly policy: Policy;
  /** What happened to the scored messages under this policy (late: beyond the grace period, not counted). */
  readonly outcomes: Readonly<Record<Exclude<ScoreOutcome, 'duplicate'>, number>>;
  readonly blocked: readonly BlockDecision[];
  readonly near: readonly NearTenant[];
  /** What its blocks refused (as the enforcer decides, by their scope) and the spam they let through. */
  readonly refusals: RefusalReport;
  /** Against the policy in force; null for the policy in force itself. */
  readonly comparedToInForce: PolicyDiff | null;
}

export interface BacktestReport {
  readonly events: {
    readonly read: number;
    readonly scored: number;
    /** Events that can never be scored (the live scorer dead-letters them), by error code. */
    readonly invalid: Readonly<Record<string, number>>;
    readonly firstAt: number | null;
    readonly lastAt: number | null;
    readonly tenants: number;
    /** Tenants with events but no accepted domain in the directory: all their mail counts as unregistered. */
    readonly tenantsWithoutAcceptedDomains: number;
    readonly byClass: Readonly<Record<MessageClass, number>>;
  };
  readonly policies: readonly PolicyReport[];
}

export class Backtest {
  readonly #directory: TenantDirectory;
  readonly #runs: PolicyRun[];
  #read = 0;
  #scored = 0;
  #firstAt: number | null = null;
  #lastAt: number | null = null;
  readonly #invalid = new Map<string, number>();
  readonly #byClass = Object.fromEntries(MESSAGE_CLASSES.map((c) => [c, 0])) as Record<MessageClass, number>;

  /** `policies[0]` is the policy in force; the others are candidates compared with it. */
  constructor(directory: TenantDirectory, policies: readonly NamedPolicy[]) {
    if (policies.length === 0) throw new Error('a backtest needs at least the policy in force');
    this.#directory = directory;
    const context: TenantContext = {
      acceptedDomain: (tenantId, domain) => directory.acceptedDomain(tenantId, domain),
      isRegistered: (tenantId, domain) => directory.isRegistered(tenantId, domain),
      // A backtest starts from no blocks and lifts none: no probation, no unblock's generation, nothing blocked but
      // by its own windows.
      standing: (tenantId) => {
        const policy = directory.tenant(tenantId)?.policy;
        return policy === undefined ? NO_STANDING : { ...NO_STANDING, policy };
      },
      ...NO_BLOCK_STATE,
      connectorCreatedAt: (tenantId, connectorId) =>
        directory.connector(tenantId, connectorId)?.createdAt || null,
    };
    this.#runs = policies.map((named) => new PolicyRun(named, context));
  }

  /** Folds one event into every policy's windows. Events must come in log order for each tenant. */
  add(event: ScoredEvent): void {
    this.addBatch([event]);
  }

  /**
   * Folds a batch of events, grouped by tenant first (each tenant's events keep their order): a tenant's windows
   * then stay in the CPU cache while its events are scored, which with thousands of tenants is most of the cost.
   * Tenants are independent of one another, so the result is the same as one event at a time.
   */
  addBatch(events: readonly ScoredEvent[]): void {
    // Each tenant's messages, with their event ids (a relay's republished event is counted once) and what the
    // record says of them being spam alongside.
    const byTenant = new Map<
      string,
      { messages: ValidMessage[]; eventIds: string[]; spam: (boolean | null)[] }
    >();
    for (const event of events) {
      this.#read++;
      let message: ValidMessage;
      try {
        message = validateMessage(event);
      } catch (error) {
        if (!isRelayguardError(error)) throw error;
        this.#invalid.set(error.code, (this.#invalid.get(error.code) ?? 0) + 1);
        continue;
      }
      this.#scored++;
      const at = message.occurredAt;
      if (this.#firstAt === null || at < this.#firstAt) this.#firstAt = at;
      if (this.#lastAt === null || at > this.#lastAt) this.#lastAt = at;
      const tenant = byTenant.get(message.tenantId);
      if (tenant === undefined)
        byTenant.set(message.tenantId, {
          messages: [message],
          eventIds: [event.eventId],
          spam: [spamLabel(event)],
        });
      else {
        tenant.messages.push(message);
        tenant.eventIds.push(event.eventId);
        tenant.spam.push(spamLabel(event));
      }
    }
    const [first, ...others] = this.#runs;
    for (const [tenantId, { messages, eventIds, spam }] of byTenant) {
      const track = first!.track(tenantId);
      for (const [i, message] of messages.entries())
        this.#byClass[first!.score(track, message, eventIds[i]!, spam[i]!)]++;
      for (const run of others) {
        const other = run.track(tenantId);
        for (const [i, message] of messages.entries()) run.score(other, message, eventIds[i]!, spam[i]!);
      }
    }
  }

  report(): BacktestReport {
    const [inForce] = this.#runs;
    const baseBlocked = firstBlockTimes(inForce!.blocked());
    const baseNear = new Set(inForce!.near().map((near) => near.tenantId));
    return {
      events: {
        read: this.#read,
        scored: this.#scored,
        invalid: Object.fromEntries([...this.#invalid].sort(([a], [b]) => compare(a, b))),
        firstAt: this.#firstAt,
        lastAt: this.#lastAt,
        tenants: inForce!.tenants.size,
        tenantsWithoutAcceptedDomains: [...inForce!.tenants.keys()].filter(
          (tenantId) => (this.#directory.tenant(tenantId)?.acceptedDomains.length ?? 0) === 0,
        ).length,
        byClass: { ...this.#byClass },
      },
      policies: this.#runs.map((run, index) => {
        const blocked = run.blocked();
        const near = run.near();
        return {
          name: run.name,
          inForce: index === 0,
          policy: run.policy,
          outcomes: { ...run.outcomes },
          blocked,
          near,
          refusals: run.refusals(),
          comparedToInForce: index === 0 ? null : diff(baseBlocked, baseNear, blocked, near),
        };
      }),
    };
  }

  /** One plot per blocked and near tenant, per policy, in the order of `report().policies`. */
  plots(): TenantPlot[][] {
    return this.#runs.map((run) => run.plots());
  }
}

function firstBlockTimes(decisions: readonly BlockDecision[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const decision of decisions)
    if (!first.has(decision.tenantId)) first.set(decision.tenantId, decision.blockedAt);
  return first;
}

function diff(
  baseBlocked: ReadonlyMap<string, number>,
  baseNear: ReadonlySet<string>,
  decisions: readonly BlockDecision[],
  nearTenants: readonly NearTenant[],
): PolicyDiff {
  const blocked = firstBlockTimes(decisions);
  const near = new Set(nearTenants.map((n) => n.tenantId));
  const sorted = (ids: Iterable<string>) => [...ids].sort(compare);
  return {
    newlyBlocked: sorted([...blocked.keys()].filter((id) => !baseBlocked.has(id))),
    noLongerBlocked: sorted([...baseBlocked.keys()].filter((id) => !blocked.has(id))),
    blockedAtAnotherTime: sorted([...blocked.keys()].filter((id) => baseBlocked.has(id)))
      .map((tenantId) => ({ tenantId, byMs: blocked.get(tenantId)! - baseBlocked.get(tenantId)! }))
      .filter((moved) => moved.byMs !== 0),
    newlyNear: sorted([...near].filter((id) => !baseNear.has(id))),
    noLongerNear: sorted([...baseNear].filter((id) => !near.has(id))),
  };
}
