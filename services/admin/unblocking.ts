// Lifting a block: the operator's unblock (every attestation given) and the tenant admin's self-service unblock
// (the system's own checks pass too, then probation). Both publish one TenantUnblocked and its audit record, or,
// when they lift some of a connector-scoped block's connectors, the block that remains (connector-lift.ts).
import type { Attestations, TenantBlockEvent, UnblockSource } from '../core/contracts.generated.js';
import { type ActiveBlock, probationUntil } from '../core/directory.js';
import { RelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import type { Metrics } from '../platform/metrics.js';
import type { Actor, TenantChangeDeps } from './change-publisher.js';
import { type ConnectorLift, connectorLift, remainingBlockEvent } from './connector-lift.js';
import {
  ATTESTATION_KEYS,
  enforcedBlock,
  missingAttestations,
  remediationWarnings,
  type SelfServiceCheck,
  selfServiceChecks,
  selfServiceRefusal,
} from './remediation-rules.js';
import { requireTenant, tenantLookups } from './tenant-records.js';

export interface UnblockInput {
  readonly ticket: string | null;
  /** Absent or false attestations refuse the unblock (ATTESTATION_MISSING) and publish nothing. */
  readonly attestations: Partial<Attestations> | undefined;
  /**
   * Lift only these connectors of a connector-scoped block; absent, the whole block. Naming every blocked
   * connector lifts the whole block.
   */
  readonly connectorIds?: readonly string[] | undefined;
}

export interface UnblockResult {
  /** The block lifted (wholly, or of some connectors). */
  readonly blockId: string;
  readonly unblockedAt: number;
  readonly warnings: string[];
  readonly probationUntil: number | null;
  /** The connectors lifted by a per-connector lift; empty when the whole block was lifted. */
  readonly liftedConnectorIds: readonly string[];
  /** The block that stays after a per-connector lift, on the connectors not lifted; null when none stays. */
  readonly remainingBlock: { readonly blockId: string; readonly connectorIds: readonly string[] } | null;
}

export interface UnblockingDeps extends TenantChangeDeps {
  readonly metrics: Metrics;
  readonly probationMs: number;
}

export class Unblocking {
  readonly #deps: UnblockingDeps;

  constructor(deps: UnblockingDeps) {
    this.#deps = deps;
  }

  /**
   * The operator unblock: every attestation must be given; the answer lists what the system itself still sees.
   * A tenant on probation stays on it, to the same end.
   */
  async unblock(actor: Actor, tenantId: string, input: UnblockInput): Promise<UnblockResult> {
    // Probation is not the operator's to waive: lifting a block of a tenant on probation keeps it until it ends.
    const until = probationUntil(requireTenant(this.#deps.directory, tenantId));
    return this.#lift(
      actor,
      tenantId,
      input,
      'OPERATOR',
      until !== null && until > this.#deps.clock.now() ? until : null,
    );
  }

  /**
   * The tenant admin's own unblock, allowed only when every check passes. Throws SELF_SERVICE_DENIED with the
   * checks in `details` (`eligible: false` when the tenant may not use self-service at all this time). Lifts
   * the block with the tenant on probation: halved thresholds for the configured period. A per-connector lift
   * checks only the connectors it lifts, and starts no probation: the rest of the block stays.
   */
  async selfServiceUnblock(actor: Actor, tenantId: string, input: UnblockInput): Promise<UnblockResult> {
    const refusal = selfServiceRefusal(this.#selfServiceChecks(tenantId, input));
    if (refusal) throw refusal;
    const { clock, probationMs } = this.#deps;
    return this.#lift(actor, tenantId, input, 'SELF_SERVICE', clock.now() + probationMs);
  }

  /** Throws UNKNOWN_TENANT or NOT_BLOCKED when there is nothing to lift, INVALID_FIELD for connectors it cannot. */
  #selfServiceChecks(tenantId: string, input: UnblockInput): SelfServiceCheck[] {
    const { directory } = this.#deps;
    const record = requireTenant(directory, tenantId);
    const block = enforcedBlock(tenantId, record);
    return selfServiceChecks(
      record,
      block,
      tenantLookups(directory, tenantId),
      input.attestations ?? {},
      connectorLift(tenantId, block, input.connectorIds)?.lifted,
    );
  }

  async #lift(
    actor: Actor,
    tenantId: string,
    input: UnblockInput,
    source: UnblockSource,
    probationUntilAt: number | null,
  ): Promise<UnblockResult> {
    const { directory, publisher, metrics } = this.#deps;
    const block = enforcedBlock(tenantId, requireTenant(directory, tenantId));
    const lift = connectorLift(tenantId, block, input.connectorIds);
    const missing = missingAttestations(input.attestations ?? {});
    if (missing.length > 0) {
      throw new RelayguardError(
        'ATTESTATION_MISSING',
        `attestations: ${missing.join(', ')} must be true before the block is lifted`,
        { field: `attestations.${missing[0]}` },
      );
    }
    if (lift) return this.#liftConnectors(actor, tenantId, block, lift, input, source);
    const warnings = remediationWarnings(block, tenantLookups(directory, tenantId));
    const stamp = publisher.stamp(actor);
    const event: TenantBlockEvent = {
      eventId: stamp.eventId,
      tenantId,
      occurredAt: stamp.occurredAt,
      kind: 'UNBLOCKED',
      blocked: null,
      unblocked: {
        blockId: block.blockId,
        source,
        actor: actor.subject,
        ticket: input.ticket,
        attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
        probationUntil: probationUntilAt,
      },
    };
    await publisher.publish(
      actor,
      { kind: 'tenant-block', event },
      {
        topic: Topics.tenantBlocks,
        key: tenantId,
        action: source === 'OPERATOR' ? 'tenant.unblock' : 'tenant.self-service-unblock',
        target: block.blockId,
        ticket: input.ticket,
        details: {
          ...auditDetails(warnings),
          ...(probationUntilAt === null ? {} : { probationUntil: new Date(probationUntilAt).toISOString() }),
        },
      },
    );
    metrics.blocksLifted.inc({ source });
    return {
      blockId: block.blockId,
      unblockedAt: stamp.occurredAt,
      warnings,
      probationUntil: probationUntilAt,
      liftedConnectorIds: [],
      remainingBlock: null,
    };
  }

  /** Publishes the block that remains on the connectors not lifted, audited as the lift it is. */
  async #liftConnectors(
    actor: Actor,
    tenantId: string,
    block: ActiveBlock,
    lift: ConnectorLift,
    input: UnblockInput,
    source: UnblockSource,
  ): Promise<UnblockResult> {
    const { directory, publisher } = this.#deps;
    const warnings = remediationWarnings(block, tenantLookups(directory, tenantId), lift.lifted);
    const liftedAt = publisher.stamp(actor).occurredAt;
    const event = remainingBlockEvent(tenantId, block, lift, liftedAt);
    const remainingBlockId = event.blocked!.blockId;
    await publisher.publish(
      actor,
      { kind: 'tenant-block', event },
      {
        topic: Topics.tenantBlocks,
        key: tenantId,
        action:
          source === 'OPERATOR' ? 'tenant.unblock-connectors' : 'tenant.self-service-unblock-connectors',
        target: block.blockId,
        ticket: input.ticket,
        details: {
          ...auditDetails(warnings),
          liftedConnectorIds: lift.lifted.join(', '),
          remainingConnectorIds: lift.remaining.join(', '),
          remainingBlockId,
        },
      },
    );
    return {
      blockId: block.blockId,
      unblockedAt: liftedAt,
      warnings,
      probationUntil: null,
      liftedConnectorIds: lift.lifted,
      remainingBlock: { blockId: remainingBlockId, connectorIds: lift.remaining },
    };
  }
}

/** What every lift's audit record says: the warnings the lifter got, and the attestations given. */
function auditDetails(warnings: readonly string[]): Record<string, string> {
  return {
    warnings: warnings.join('; '),
    ...Object.fromEntries(ATTESTATION_KEYS.map((key) => [key, 'true'])),
  };
}
