// The recent audit records of each tenant, for the console's audit trail: the admin service reads
// relayguard.audit.v1 from the beginning (no consumer group, like the directory feed) and keeps, per tenant, the
// newest AUDIT_TRAIL_PER_TENANT records, for the AUDIT_TRAIL_TENANTS tenants changed most recently. Bounded on
// purpose: the topic is the complete record (docs/admin-api.md, "Audit"); this is what a person reads on a page.
import type { AuditEvent } from '../core/contracts.generated.js';
import { isRelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { EventLog, SchemaCodec, Subscription } from '../platform/ports.js';

export const AUDIT_TRAIL_PER_TENANT = 20;
/** With records of a few hundred bytes, at most ~30 MB whatever the fleet's size. */
export const AUDIT_TRAIL_TENANTS = 5_000;

export interface AuditTrailPage {
  /** Newest first. */
  readonly entries: readonly AuditEvent[];
  /** True when older records of the tenant were dropped here (the audit topic still holds them). */
  readonly truncated: boolean;
  /** False while the audit topic is still being read from its beginning. */
  readonly caughtUp: boolean;
}

export class AuditTrail {
  /** Oldest first per tenant; the map's order is the order of the tenants' latest records (oldest first). */
  readonly #byTenant = new Map<string, { entries: AuditEvent[]; truncated: boolean }>();
  readonly #perTenant: number;
  readonly #tenants: number;
  #caughtUp = false;

  constructor(perTenant = AUDIT_TRAIL_PER_TENANT, tenants = AUDIT_TRAIL_TENANTS) {
    this.#perTenant = perTenant;
    this.#tenants = tenants;
  }

  add(event: AuditEvent): void {
    if (event.tenantId === null) return;
    const kept = this.#byTenant.get(event.tenantId) ?? { entries: [], truncated: false };
    // A record read again (the feed starts over after a reconnect) is kept once.
    if (kept.entries.some((entry) => entry.auditId === event.auditId)) return;
    this.#byTenant.delete(event.tenantId);
    this.#byTenant.set(event.tenantId, kept);
    kept.entries.push(event);
    if (kept.entries.length > this.#perTenant) {
      kept.entries.shift();
      kept.truncated = true;
    }
    if (this.#byTenant.size > this.#tenants) {
      const quietest = this.#byTenant.keys().next().value!;
      this.#byTenant.delete(quietest);
    }
  }

  markCaughtUp(): void {
    this.#caughtUp = true;
  }

  recent(tenantId: string): AuditTrailPage {
    const kept = this.#byTenant.get(tenantId);
    return {
      entries: kept ? [...kept.entries].reverse() : [],
      truncated: kept?.truncated ?? false,
      caughtUp: this.#caughtUp,
    };
  }
}

export interface AuditFeedDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly trail: AuditTrail;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export async function startAuditFeed(deps: AuditFeedDeps): Promise<Subscription> {
  const subscription = await deps.log.subscribe({
    groupId: null,
    topics: [Topics.audit],
    handleBatch: async (batch) => {
      const records = batch.records.filter((record) => record.value !== null);
      const decoded = await deps.codec.decodeAll(
        Topics.audit,
        records.map((record) => record.value!),
      );
      for (const [i, event] of decoded.entries()) {
        if (isRelayguardError(event)) {
          // The trail is for reading: a record it cannot decode is left out, named, and counted.
          deps.logger.error(
            { topic: batch.topic, partition: batch.partition, offset: records[i]!.offset, code: event.code },
            'skipped an unreadable audit record',
          );
          deps.metrics.eventsConsumed.inc({ topic: Topics.audit, outcome: 'invalid' });
          continue;
        }
        deps.trail.add(event);
        deps.metrics.eventsConsumed.inc({ topic: Topics.audit, outcome: 'applied' });
      }
    },
  });
  void subscription.caughtUp.then(
    () => deps.trail.markCaughtUp(),
    () => undefined,
  );
  return subscription;
}
