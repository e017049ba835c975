// A tenant's policy overrides: replaced as a whole by an operator, read with the global policy and what is in
// force now.
import type { TenantPolicyChanged } from '../core/contracts.generated.js';
import { probationUntil } from '../core/directory.js';
import { RelayguardError } from '../core/errors.js';
import {
  effectivePolicy,
  overridesToEventFields,
  type Policy,
  type PolicyOverrides,
} from '../core/policy.js';
import { Topics } from '../core/topics.js';
import type { Actor, TenantChangeDeps } from './change-publisher.js';
import { requireTenant } from './tenant-records.js';

export interface TenantPoliciesDeps extends TenantChangeDeps {
  readonly policy: Policy;
}

export class TenantPolicies {
  readonly #deps: TenantPoliciesDeps;

  constructor(deps: TenantPoliciesDeps) {
    this.#deps = deps;
  }

  /**
   * Replaces the tenant's overrides (absent fields take the global value). A D threshold above the tracking cap
   * (RELAYGUARD_DISTINCT_DOMAIN_CAP) would switch the distinct-domains rule off without a word: it is refused,
   * as the same value in the environment is.
   */
  async set(actor: Actor, tenantId: string, overrides: PolicyOverrides): Promise<PolicyOverrides> {
    const { policy, publisher, directory } = this.#deps;
    const cap = policy.distinctDomainCap;
    if (overrides.minDistinctDomains !== undefined && overrides.minDistinctDomains > cap) {
      throw new RelayguardError(
        'INVALID_FIELD',
        `minDistinctDomains: must be at most ${cap}: D is counted only up to RELAYGUARD_DISTINCT_DOMAIN_CAP, so a higher threshold could never be reached (to switch the rule off, raise minUnregisteredWithDistinct)`,
        { field: 'minDistinctDomains' },
      );
    }
    const event: TenantPolicyChanged = {
      ...publisher.stamp(actor),
      tenantId,
      ...overridesToEventFields(overrides),
    };
    await publisher.publish(
      actor,
      { kind: 'tenant-policy', event },
      { topic: Topics.tenantPolicies, key: tenantId, action: 'tenant-policy.put', target: tenantId },
    );
    return directory.tenant(tenantId)?.policy ?? {};
  }

  /** The tenant's overrides, the global policy, and what is in force now (probation halves the counts). */
  get(tenantId: string) {
    const { directory, policy, clock } = this.#deps;
    const record = requireTenant(directory, tenantId);
    const until = probationUntil(record);
    const effective = effectivePolicy(policy, record.policy, until, clock.now());
    return {
      tenantId,
      overrides: record.policy ?? {},
      global: { mode: policy.mode, thresholds: policy.thresholds, forwardedWeight: policy.forwardedWeight },
      effective: { ...effective, probationUntil: effective.probation ? until : null },
    };
  }
}
