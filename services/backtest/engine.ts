// The backtest: recorded MessageSubmitted events folded, in event time, through one or more policies with the
// scorer's own per-message step (core/scoring.ts scoreMessage), one in-memory window per tenant per policy.
// Nothing is published or stored: production state is never touched. Pure apart from the caller's events.
import { MESSAGE_CLASSES, type MessageClass, type ValidMessage, validateMessage } from '../core/classify.js';
import type {
  BlockEvidence,
  BlockReason,
  MessageSubmitted,
  PolicyMode,
  Thresholds,
} from '../core/contracts.generated.js';
import type { TenantDirectory } from '../core/directory.js';
import { isRelayguardError } from '../core/errors.js';
import { MINUTE_MS, type Policy, proximity, type WindowCounts } from '../core/policy.js';
import { NO_BLOCK_STATE, type ScoreOutcome, scoreMessage, type TenantContext } from '../core/scoring.js';
import { PolicyTerms, type TenantTerms } from '../core/tenant-terms.js';
import { emptyWindow, type TenantWindow } from '../core/windows.js';
import { MinuteHistory, volumeBeganMinute } from './history.js';

export interface NamedPolicy {
  readonly name: string;
  readonly policy: Policy;
}

/** Within 20% of a threshold: the proximity (core/policy.ts) at which a tenant counts as close. */
export const NEAR_PROXIMITY = 0.8;

export interface BlockDecision {
  readonly tenantId: string;
  readonly blockId: string;
  readonly mode: PolicyMode;
  /** Event time of the message that tipped the window over a threshold. */
  readonly blockedAt: number;
  readonly reason: BlockReason;
  readonly evidence: BlockEvidence;
  /** Start of the minute in which the unregistered volume behind the decision began (see volumeBeganMinute). */
  readonly volumeBeganAt: number;
  readonly afterVolumeBeganMs: number;
}

export interface NearTenant {
  readonly tenantId: string;
  /** The largest fraction of a rule's thresholds reached (1 would block). */
  readonly proximity: number;
  readonly closestRule: BlockReason;
  readonly at: number;
  readonly counts: WindowCounts;
  readonly thresholds: Thresholds;
}

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

/** U in the sliding window per minute around a decision or a close call, for the HTML report's plot. */
export interface TenantPlot {
  readonly tenantId: string;
  readonly kind: 'blocked' | 'near';
  /** Epoch minute of values[0]. */
  readonly firstMinute: number;
  readonly values: readonly number[];
  readonly thresholds: Thresholds;
  /** The would-block moment, or the closest call. */
  readonly markAt: number;
  readonly markValue: number;
}

interface TenantTrack {
  readonly window: TenantWindow;
  readonly terms: TenantTerms;
  readonly history: MinuteHistory;
  decisions: BlockDecision[];
  peak: NearTenant | null;
}

class PolicyRun {
  readonly name: string;
  readonly policy: Policy;
  readonly tenants = new Map<string, TenantTrack>();
  readonly outcomes = { counted: 0, late: 0, 'before-reset': 0, republished: 0 };
  readonly #context: TenantContext;
  readonly #terms: PolicyTerms;

  constructor(named: NamedPolicy, context: TenantContext) {
    this.name = named.name;
    this.policy = named.policy;
    this.#context = context;
    this.#terms = new PolicyTerms(named.policy);
  }

  track(tenantId: string): TenantTrack {
    let track = this.tenants.get(tenantId);
    if (track === undefined) {
      track = {
        window: emptyWindow(),
        terms: this.#terms.of(this.#context, tenantId),
        // Two windows of minutes: U over the whole window before any minute of the last window.
        history: new MinuteHistory(2 * this.policy.windowMinutes),
        decisions: [],
        peak: null,
      };
      this.tenants.set(tenantId, track);
    }
    return track;
  }

  score(track: TenantTrack, message: ValidMessage, eventId: string): MessageClass {
    const { tenantId } = message;
    const score = scoreMessage(
      track.window,
      tenantId,
      null,
      message,
      this.policy,
      this.#context,
      track.terms,
      eventId,
    );
    if (score.outcome === 'duplicate') return score.messageClass;
    this.outcomes[score.outcome]++;
    if (score.counts === null || score.thresholds === null) return score.messageClass;

    const newest = track.window.streamMinute!;
    track.history.record(Math.floor(message.occurredAt / MINUTE_MS), score.messageClass);
    const close = proximity(score.thresholds, score.counts);
    if (close >= NEAR_PROXIMITY) {
      track.history.keep(newest);
      if (track.peak === null || close > track.peak.proximity) {
        track.peak = {
          tenantId,
          proximity: close,
          closestRule: closestRule(score.thresholds, score.counts),
          at: message.occurredAt,
          counts: score.counts,
          thresholds: score.thresholds,
        };
      }
    }
    const blocked = score.emit?.blocked;
    if (blocked) {
      track.history.keep(newest);
      const windowMinutes = this.policy.windowMinutes;
      const perMinute = track.history.perMinute(
        newest - 2 * windowMinutes + 1,
        newest,
        this.#forwardedWeight(track),
      );
      const volumeBeganAt = volumeBeganMinute(perMinute, newest, windowMinutes) * MINUTE_MS;
      track.decisions.push({
        tenantId,
        blockId: blocked.blockId,
        mode: blocked.mode,
        blockedAt: message.occurredAt,
        reason: blocked.reason,
        evidence: blocked.evidence,
        volumeBeganAt,
        afterVolumeBeganMs: message.occurredAt - volumeBeganAt,
      });
    }
    return score.messageClass;
  }

  #forwardedWeight(track: TenantTrack): number {
    return track.terms.overrides?.forwardedWeight ?? this.policy.forwardedWeight;
  }

  blocked(): BlockDecision[] {
    const decisions: BlockDecision[] = [];
    for (const track of this.tenants.values()) decisions.push(...track.decisions);
    return decisions.sort((a, b) => a.blockedAt - b.blockedAt || compare(a.tenantId, b.tenantId));
  }

  near(): NearTenant[] {
    const near: NearTenant[] = [];
    for (const track of this.tenants.values())
      if (track.peak !== null && track.decisions.length === 0) near.push(track.peak);
    return near.sort((a, b) => b.proximity - a.proximity || compare(a.tenantId, b.tenantId));
  }

  plots(): TenantPlot[] {
    const windowMinutes = this.policy.windowMinutes;
    const plot = (
      tenantId: string,
      kind: TenantPlot['kind'],
      mark: { at: number; value: number },
      thresholds: Thresholds,
    ): TenantPlot => {
      const track = this.tenants.get(tenantId)!;
      const markAt = mark.at;
      const markMinute = Math.floor(markAt / MINUTE_MS);
      const span = track.history.keptSpan() ?? { first: markMinute, last: markMinute };
      const firstMinute = Math.max(span.first, markMinute - 2 * windowMinutes);
      // A little after the moment only: a spammer's U keeps climbing in a replay (nothing rejects its mail), and
      // a long tail would flatten the part of the plot that matters.
      const lastMinute = Math.min(span.last + windowMinutes, markMinute + Math.ceil(windowMinutes / 4));
      const values = track.history.slidingUnregistered(
        firstMinute,
        lastMinute,
        windowMinutes,
        this.#forwardedWeight(track),
      );
      return { tenantId, kind, firstMinute, values, thresholds, markAt, markValue: mark.value };
    };
    const plots: TenantPlot[] = [];
    for (const { tenantId, blockedAt, evidence } of this.blocked()) {
      plots.push(
        plot(tenantId, 'blocked', { at: blockedAt, value: evidence.unregistered }, evidence.thresholds),
      );
    }
    for (const { tenantId, at, counts, thresholds } of this.near()) {
      plots.push(plot(tenantId, 'near', { at, value: counts.unregistered }, thresholds));
    }
    return plots;
  }
}

function closestRule(thresholds: Thresholds, counts: WindowCounts): BlockReason {
  const volume = proximity({ ...thresholds, minDistinctDomains: Infinity }, counts);
  const distinct = proximity({ ...thresholds, minUnregistered: Infinity }, counts);
  return distinct > volume ? 'DISTINCT_DOMAINS' : 'VOLUME';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
      policyOverrides: (tenantId) => directory.tenant(tenantId)?.policy,
      // A backtest starts from no blocks and lifts none: no probation, nothing blocked but by its own windows.
      probationUntil: () => null,
      ...NO_BLOCK_STATE,
      connectorCreatedAt: (tenantId, connectorId) =>
        directory.connector(tenantId, connectorId)?.createdAt || null,
    };
    this.#runs = policies.map((named) => new PolicyRun(named, context));
  }

  /** Folds one event into every policy's windows. Events must come in log order for each tenant. */
  add(event: MessageSubmitted): void {
    this.addBatch([event]);
  }

  /**
   * Folds a batch of events, grouped by tenant first (each tenant's events keep their order): a tenant's windows
   * then stay in the CPU cache while its events are scored, which with thousands of tenants is most of the cost.
   * Tenants are independent of one another, so the result is the same as one event at a time.
   */
  addBatch(events: readonly MessageSubmitted[]): void {
    // Each tenant's messages, with their event ids alongside (a relay's republished event is counted once).
    const byTenant = new Map<string, { messages: ValidMessage[]; eventIds: string[] }>();
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
        byTenant.set(message.tenantId, { messages: [message], eventIds: [event.eventId] });
      else {
        tenant.messages.push(message);
        tenant.eventIds.push(event.eventId);
      }
    }
    const [first, ...others] = this.#runs;
    for (const [tenantId, { messages, eventIds }] of byTenant) {
      const track = first!.track(tenantId);
      for (const [i, message] of messages.entries())
        this.#byClass[first!.score(track, message, eventIds[i]!)]++;
      for (const run of others) {
        const other = run.track(tenantId);
        for (const [i, message] of messages.entries()) run.score(other, message, eventIds[i]!);
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
