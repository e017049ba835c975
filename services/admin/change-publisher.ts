// Every admin change goes out the same way: encoded with its topic's schema, published to its compacted topic,
// recorded on the audit topic, then applied to this process's directory (the reducers are idempotent, so the
// feed applying it again changes nothing). A change that fails to encode or publish is not applied.
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Role } from '../core/contracts.generated.js';
import type { DirectoryEvent, TenantDirectory } from '../core/directory.js';
import type { ContractTopic, TopicContracts } from '../core/topics.js';
import { Topics } from '../core/topics.js';
import type { Logger } from '../platform/logger.js';
import type { Clock, EventLog, OutgoingRecord, SchemaCodec } from '../platform/ports.js';

export interface Actor {
  /** Who acts: a token's subject, never the token. */
  readonly subject: string;
  readonly role: Role;
}

/** How the audit record names an action. */
export interface AuditedAction {
  /** The audit action, such as `connector.put`. */
  readonly action: string;
  /** What the audit record says was acted on: a domain, a connector id, a block id. */
  readonly target: string;
  readonly ticket?: string | null;
  readonly details?: Record<string, string>;
}

/** Where a change goes and how the audit record names it. */
export interface ChangeTarget extends AuditedAction {
  readonly topic: ContractTopic;
  /** The compacted topic's key: the newest record under it is the state. */
  readonly key: string;
}

export interface ChangePublisherDeps {
  readonly log: EventLog;
  readonly codec: SchemaCodec;
  readonly directory: TenantDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** What each service that changes a tenant's records works with: the tenant as it stands, the time, the way out. */
export interface TenantChangeDeps {
  readonly directory: TenantDirectory;
  readonly clock: Clock;
  readonly publisher: ChangePublisher;
}

export class ChangePublisher {
  readonly #deps: ChangePublisherDeps;

  constructor(deps: ChangePublisherDeps) {
    this.#deps = deps;
  }

  /** The id, time and actor every change event starts with. */
  stamp(actor: Actor): { eventId: string; occurredAt: number; actor: string } {
    return { eventId: randomUUID(), occurredAt: this.#deps.clock.now(), actor: actor.subject };
  }

  async publish(actor: Actor, change: DirectoryEvent, to: ChangeTarget): Promise<void> {
    const { codec, log, directory } = this.#deps;
    const value = await codec.encode(to.topic, change.event as TopicContracts[typeof to.topic]);
    const records: OutgoingRecord[] = [{ key: to.key, value }];
    // A removal ends in its key's tombstone: the cleaner then keeps the tombstone alone and, delete.retention.ms
    // later, forgets the object (RUNBOOK: topic retention and compression). One publish: in order, one partition.
    if (isRemoval(change)) records.push({ key: to.key, value: null });
    await log.publish(to.topic, records);
    await this.audit(actor, change.event.tenantId, to);
    directory.apply(change);
  }

  /**
   * The audit record of an action, and its log line. Keyed by the tenant acted on, or by the actor for what
   * belongs to no tenant (a webhook endpoint).
   */
  async audit(actor: Actor, tenantId: string | null, action: AuditedAction): Promise<void> {
    const { codec, log, clock, logger } = this.#deps;
    const audit: AuditEvent = {
      auditId: randomUUID(),
      occurredAt: clock.now(),
      actor: actor.subject,
      role: actor.role,
      action: action.action,
      tenantId,
      target: action.target,
      ticket: action.ticket ?? null,
      details: action.details ?? {},
    };
    const value = await codec.encode(Topics.audit, audit);
    await log.publish(Topics.audit, [{ key: tenantId ?? actor.subject, value }]);
    logger.info(
      { action: action.action, tenantId, target: action.target, actor: actor.subject, role: actor.role },
      'admin change',
    );
  }
}

/** A domain or connector removed: the changes whose objects compaction may forget. */
function isRemoval(change: DirectoryEvent): boolean {
  return (
    (change.kind === 'accepted-domain' || change.kind === 'connector') && change.event.change === 'REMOVED'
  );
}
