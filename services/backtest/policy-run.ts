// One policy's run of a backtest (engine.ts): a window per tenant folded with the scorer's per-message step, the
// block decisions it would take and the tenants that came close, and the plots of both.
import { classify, type MessageClass, type ValidMessage } from '../core/classify.js';
import type {
  BlockEvidence,
  BlockReason,
  BlockScope,
  PolicyMode,
  Thresholds,
} from '../core/contracts.generated.js';
import { MINUTE_MS, type Policy, proximity, type WindowCounts } from '../core/policy.js';
import { scoreMessage, type TenantContext } from '../core/scoring.js';
import { PolicyTerms, type TenantTerms } from '../core/tenant-terms.js';
import { emptyWindow, type TenantWindow } from '../core/windows.js';
import { MinuteHistory, volumeBeganMinute } from './history.js';
import { type RefusalReport, Refusals, type RefusalTrack, refusalTrack } from './refusals.js';

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
  /** What it covers: the whole tenant, or connectorIds (a block widened to the tenant is a decision of its own). */
  readonly scope: BlockScope;
  readonly connectorIds: readonly string[];
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

interface TenantTrack extends RefusalTrack {
  readonly window: TenantWindow;
  readonly terms: TenantTerms;
  readonly history: MinuteHistory;
  decisions: BlockDecision[];
  peak: NearTenant | null;
}

export class PolicyRun {
  readonly name: string;
  readonly policy: Policy;
  readonly tenants = new Map<string, TenantTrack>();
  readonly outcomes = { counted: 0, late: 0, 'before-reset': 0, republished: 0 };
  readonly #context: TenantContext;
  readonly #terms: PolicyTerms;
  readonly #refusals: Refusals;

  constructor(named: NamedPolicy, context: TenantContext) {
    this.name = named.name;
    this.policy = named.policy;
    this.#context = context;
    this.#terms = new PolicyTerms(named.policy);
    this.#refusals = new Refusals(context);
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
        ...refusalTrack(),
      };
      this.tenants.set(tenantId, track);
    }
    return track;
  }

  /**
   * Scores one message, unless the block this run has in force for its tenant refuses it (then it is counted as
   * refused, never scored). `spam` is what the record says of it, null when it says nothing.
   */
  score(track: TenantTrack, message: ValidMessage, eventId: string, spam: boolean | null): MessageClass {
    const { tenantId } = message;
    if (this.#refusals.refuses(track, message, spam))
      return classify(message.senderDomain, message.relayPath, false);
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
      // In force from its deciding message on: the relays refuse what it covers (a backtest lifts no block).
      track.block = { ...blocked, blockedAt: message.occurredAt, connectorsAtBlock: {} };
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
        scope: blocked.scope,
        connectorIds: blocked.connectorIds,
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

  /** What this policy's blocks refused, and the spam they let through. */
  refusals(): RefusalReport {
    return this.#refusals.report(this.tenants);
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

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
