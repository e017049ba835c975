// The scoring policy of DESIGN.md: block when (U >= 500 and U/T >= 0.25) or (D >= 50 and U >= 100) within a
// 60-minute sliding window, every number configurable globally and per tenant, halved on probation.
import type { BlockReason, PolicyMode, TenantPolicyChanged, Thresholds } from './contracts.generated.js';

export const POLICY_VERSION = '2026-11.1';
export const MINUTE_MS = 60_000;
/** A connector created this recently that carries unregistered mail is unusual (attackers create connectors). */
export const NEW_CONNECTOR_MS = 7 * 24 * 3_600_000;

/**
 * What a block covers (docs/policy.md#block-scope). `tenant`: every block covers the whole tenant. `auto`: a block
 * covers only the connectors that carry the flood when the tenant's other connectors stay under the thresholds on
 * their own, and is widened to the tenant when the rest fires too (the spam moved). `connector`: scoped the same
 * way, and never widened by the policy: an operator widens it.
 */
export type BlockScopeMode = 'tenant' | 'connector' | 'auto';
export const BLOCK_SCOPE_MODES = ['tenant', 'connector', 'auto'] as const satisfies readonly BlockScopeMode[];

export interface Policy {
  readonly mode: PolicyMode;
  /** What a block covers: the tenant, or the connectors that carry the flood (RELAYGUARD_BLOCK_SCOPE). */
  readonly blockScope: BlockScopeMode;
  readonly thresholds: Thresholds;
  /** Weight of FORWARDED unregistered mail in U; 0 (the default) allows forwarding. */
  readonly forwardedWeight: number;
  /** Sliding window length in minutes (1-minute buckets). */
  readonly windowMinutes: number;
  /** How late (in minutes behind the tenant's newest event) an event may arrive and still be counted. */
  readonly graceMinutes: number;
  /** Distinct unregistered domains tracked per tenant: D is exact up to this cap, so it must be >= minDistinctDomains. */
  readonly distinctDomainCap: number;
  /** Connectors tracked per tenant for evidence. */
  readonly connectorCap: number;
  /** Factor applied to count thresholds while a tenant is on probation after a self-service unblock. */
  readonly probationFactor: number;
}

export const DEFAULT_POLICY: Policy = {
  mode: 'ENFORCE',
  blockScope: 'auto',
  thresholds: {
    minUnregistered: 500,
    minUnregisteredRatio: 0.25,
    minDistinctDomains: 50,
    minUnregisteredWithDistinct: 100,
  },
  forwardedWeight: 0,
  windowMinutes: 60,
  graceMinutes: 5,
  distinctDomainCap: 64,
  connectorCap: 16,
  probationFactor: 0.5,
};

/** A tenant's overrides; absent fields keep the global value. */
export type PolicyOverrides = Partial<Thresholds> & {
  readonly mode?: PolicyMode;
  readonly forwardedWeight?: number;
};

export function overridesFromEvent(event: TenantPolicyChanged): PolicyOverrides {
  const overrides: { -readonly [K in keyof PolicyOverrides]: PolicyOverrides[K] } = {};
  if (event.mode !== null) overrides.mode = event.mode;
  if (event.minUnregistered !== null) overrides.minUnregistered = event.minUnregistered;
  if (event.minUnregisteredRatio !== null) overrides.minUnregisteredRatio = event.minUnregisteredRatio;
  if (event.minDistinctDomains !== null) overrides.minDistinctDomains = event.minDistinctDomains;
  if (event.minUnregisteredWithDistinct !== null)
    overrides.minUnregisteredWithDistinct = event.minUnregisteredWithDistinct;
  if (event.forwardedWeight !== null) overrides.forwardedWeight = event.forwardedWeight;
  return overrides;
}

/** The overrides as a TenantPolicyChanged carries them: null where the global value holds. */
export function overridesToEventFields(overrides: PolicyOverrides) {
  return {
    mode: overrides.mode ?? null,
    minUnregistered: overrides.minUnregistered ?? null,
    minUnregisteredRatio: overrides.minUnregisteredRatio ?? null,
    minDistinctDomains: overrides.minDistinctDomains ?? null,
    minUnregisteredWithDistinct: overrides.minUnregisteredWithDistinct ?? null,
    forwardedWeight: overrides.forwardedWeight ?? null,
  } satisfies Omit<TenantPolicyChanged, 'eventId' | 'occurredAt' | 'actor' | 'tenantId'>;
}

export interface EffectivePolicy {
  readonly mode: PolicyMode;
  readonly thresholds: Thresholds;
  readonly forwardedWeight: number;
  readonly probation: boolean;
}

/** The policy in force for one tenant at event time `at`. */
export function effectivePolicy(
  global: Policy,
  overrides: PolicyOverrides | undefined,
  probationUntil: number | null,
  at: number,
): EffectivePolicy {
  const base: Thresholds = { ...global.thresholds, ...pickThresholds(overrides) };
  const probation = probationUntil !== null && at < probationUntil;
  const factor = probation ? global.probationFactor : 1;
  return {
    mode: overrides?.mode ?? global.mode,
    forwardedWeight: overrides?.forwardedWeight ?? global.forwardedWeight,
    probation,
    thresholds: {
      minUnregistered: Math.ceil(base.minUnregistered * factor),
      minUnregisteredRatio: base.minUnregisteredRatio,
      minDistinctDomains: Math.ceil(base.minDistinctDomains * factor),
      minUnregisteredWithDistinct: Math.ceil(base.minUnregisteredWithDistinct * factor),
    },
  };
}

function pickThresholds(overrides: PolicyOverrides | undefined): Partial<Thresholds> {
  if (!overrides) return {};
  const picked: { -readonly [K in keyof Thresholds]?: Thresholds[K] } = {};
  if (overrides.minUnregistered !== undefined) picked.minUnregistered = overrides.minUnregistered;
  if (overrides.minUnregisteredRatio !== undefined)
    picked.minUnregisteredRatio = overrides.minUnregisteredRatio;
  if (overrides.minDistinctDomains !== undefined) picked.minDistinctDomains = overrides.minDistinctDomains;
  if (overrides.minUnregisteredWithDistinct !== undefined)
    picked.minUnregisteredWithDistinct = overrides.minUnregisteredWithDistinct;
  return picked;
}

export interface WindowCounts {
  /** U, weighted: unregistered ONPREM and APPLICATION messages plus forwardedWeight x F. */
  readonly unregistered: number;
  readonly forwardedUnregistered: number;
  readonly total: number;
  readonly distinctUnregisteredDomains: number;
}

/** Which rule fires for these counts, or null. The volume rule is checked first, so the reason is stable. */
export function evaluate(thresholds: Thresholds, counts: WindowCounts): BlockReason | null {
  const { unregistered: u, total: t, distinctUnregisteredDomains: d } = counts;
  if (u >= thresholds.minUnregistered && t > 0 && u / t >= thresholds.minUnregisteredRatio) return 'VOLUME';
  if (d >= thresholds.minDistinctDomains && u >= thresholds.minUnregisteredWithDistinct)
    return 'DISTINCT_DOMAINS';
  return null;
}

/** How close the counts are to each rule, as the largest fraction of its thresholds reached (1 = fires). */
export function proximity(thresholds: Thresholds, counts: WindowCounts): number {
  const ratio = counts.total > 0 ? counts.unregistered / counts.total : 0;
  const volume = Math.min(
    counts.unregistered / thresholds.minUnregistered,
    ratio / thresholds.minUnregisteredRatio,
  );
  const distinct = Math.min(
    counts.distinctUnregisteredDomains / thresholds.minDistinctDomains,
    counts.unregistered / thresholds.minUnregisteredWithDistinct,
  );
  return Math.max(volume, distinct);
}
