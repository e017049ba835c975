// The recent audit records of each tenant, for the console's audit trail: the admin service reads
// relayguard.audit.v1 from the beginning (no consumer group, like the directory feed) and keeps, per tenant, the
// newest AUDIT_TRAIL_PER_TENANT records, for the AUDIT_TRAIL_TENANTS tenants changed most recently. Bounded on
// purpose: the topic is the complete record (docs/admin-api.md, "Audit"); this is what a person reads on a page.
import type { AuditEvent } from '../core/contracts.generated.js';
import { Topics } from '../core/topics.js';
import { RecentRecords, type RecentState } from '../platform/recent-records.js';

export const AUDIT_TRAIL_PER_TENANT = 20;
/** With records of a few hundred bytes, at most ~30 MB whatever the fleet's size. */
export const AUDIT_TRAIL_TENANTS = 5_000;

export interface AuditTrailPage extends RecentState {
  /** Newest first. */
  readonly entries: readonly AuditEvent[];
}

export class AuditTrail extends RecentRecords<typeof Topics.audit> {
  constructor(perTenant = AUDIT_TRAIL_PER_TENANT, tenants = AUDIT_TRAIL_TENANTS) {
    super({
      topic: Topics.audit,
      perOwner: perTenant,
      owners: tenants,
      ownerOf: (event) => event.tenantId,
      idOf: (event) => event.auditId,
      // A record read again (the feed starts over after a reconnect) is kept once.
      replaces: () => false,
    });
  }

  recent(tenantId: string): AuditTrailPage {
    const { records, ...state } = this.newest(tenantId);
    return { entries: records, ...state };
  }
}
