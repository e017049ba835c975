// A tenant's terms while a batch is scored: its overrides and probation, read once per tenant, and the effective
// policy when it cannot change with event time.
import { type EffectivePolicy, effectivePolicy, type Policy, type PolicyOverrides } from './policy.js';

/** What one tenant's terms are while a batch is scored: read once per tenant, not per message. */
export interface TenantTerms {
  readonly overrides: PolicyOverrides | undefined;
  readonly probationUntil: number | null;
  /** The effective policy when it cannot change with event time (no probation): computed once, not per message. */
  readonly steady: EffectivePolicy | null;
}

/** Where a tenant's overrides and probation are read (the fold's TenantContext). */
export interface TermsSource {
  policyOverrides(tenantId: string): PolicyOverrides | undefined;
  probationUntil(tenantId: string): number | null;
}

/** The terms of tenants under one policy; every tenant without overrides or probation shares one object. */
export class PolicyTerms {
  readonly #policy: Policy;
  /** The terms of a tenant without overrides or probation. */
  readonly plain: TenantTerms;

  constructor(policy: Policy) {
    this.#policy = policy;
    this.plain = {
      overrides: undefined,
      probationUntil: null,
      steady: effectivePolicy(policy, undefined, null, 0),
    };
  }

  of(source: TermsSource, tenantId: string): TenantTerms {
    const overrides = source.policyOverrides(tenantId);
    const probationUntil = source.probationUntil(tenantId);
    if (overrides === undefined && probationUntil === null) return this.plain;
    const steady = probationUntil === null ? effectivePolicy(this.#policy, overrides, null, 0) : null;
    return { overrides, probationUntil, steady };
  }
}
