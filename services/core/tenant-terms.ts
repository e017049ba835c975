// A tenant's terms while a batch is scored: its episode generation, overrides and probation, read off its directory
// record once per tenant, and the effective policy when it cannot change with event time.
import { FIRST_GENERATION } from './episodes.js';
import { type EffectivePolicy, effectivePolicy, type Policy, type PolicyOverrides } from './policy.js';

/** What scoring reads of a tenant's directory record (a TenantRecord is one): once per tenant of a batch. */
export interface TenantStanding {
  readonly policy: PolicyOverrides | undefined;
  /**
   * The generation of the tenant's block episodes in the materialized tenant-blocks state (core/episodes.ts): a
   * window that applied an older one is reset before anything is folded into it.
   */
  readonly generation: number;
  readonly lastUnblock: { readonly probationUntil: number | null } | null;
}

/** The standing of a tenant with no overrides, no probation and no unblock. */
export const NO_STANDING: TenantStanding = {
  policy: undefined,
  generation: FIRST_GENERATION,
  lastUnblock: null,
};

/** What one tenant's terms are while a batch is scored: read once per tenant, not per message. */
export interface TenantTerms {
  readonly generation: number;
  readonly overrides: PolicyOverrides | undefined;
  readonly probationUntil: number | null;
  /** The effective policy when it cannot change with event time (no probation): computed once, not per message. */
  readonly steady: EffectivePolicy | null;
}

/** Where a tenant's standing is read (the fold's TenantContext): one lookup of its record. */
export interface TermsSource {
  standing(tenantId: string): TenantStanding;
}

/** The terms of tenants under one policy; every tenant of NO_STANDING's terms shares one object. */
export class PolicyTerms {
  readonly #policy: Policy;
  /** The terms of a tenant with no overrides, no probation and no unblock. */
  readonly plain: TenantTerms;

  constructor(policy: Policy) {
    this.#policy = policy;
    this.plain = {
      generation: FIRST_GENERATION,
      overrides: undefined,
      probationUntil: null,
      steady: effectivePolicy(policy, undefined, null, 0),
    };
  }

  of(source: TermsSource, tenantId: string): TenantTerms {
    const { policy: overrides, generation, lastUnblock } = source.standing(tenantId);
    const probationUntil = lastUnblock?.probationUntil ?? null;
    if (overrides === undefined && probationUntil === null && generation === FIRST_GENERATION)
      return this.plain;
    const steady = probationUntil === null ? effectivePolicy(this.#policy, overrides, null, 0) : null;
    return { generation, overrides, probationUntil, steady };
  }
}
