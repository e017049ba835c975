// Lifting a block: the operator's unblock (every attestation given) and the tenant admin's self-service unblock
// (the system's own checks pass too, then probation). Both publish one TenantUnblocked and its audit record.
import type { Attestations, TenantBlockEvent, UnblockSource } from '../core/contracts.generated.js';
import { probationUntil, type TenantDirectory } from '../core/directory.js';
import { RelayguardError } from '../core/errors.js';
import { Topics } from '../core/topics.js';
import type { Metrics } from '../platform/metrics.js';
import type { Clock } from '../platform/ports.js';
import type { Actor, ChangePublisher } from './change-publisher.js';
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
}

export interface UnblockingDeps {
  readonly directory: TenantDirectory;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly publisher: ChangePublisher;
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
  async unblock(actor: Actor, tenantId: string, input: UnblockInput) {
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
   * the block with the tenant on probation: halved thresholds for the configured period.
   */
  async selfServiceUnblock(actor: Actor, tenantId: string, input: UnblockInput) {
    const refusal = selfServiceRefusal(this.#selfServiceChecks(tenantId, input.attestations ?? {}));
    if (refusal) throw refusal;
    const { clock, probationMs } = this.#deps;
    return this.#lift(actor, tenantId, input, 'SELF_SERVICE', clock.now() + probationMs);
  }

  /** Throws UNKNOWN_TENANT or NOT_BLOCKED when there is nothing to lift. */
  #selfServiceChecks(tenantId: string, attestations: Partial<Attestations>): SelfServiceCheck[] {
    const { directory } = this.#deps;
    const record = requireTenant(directory, tenantId);
    return selfServiceChecks(
      record,
      enforcedBlock(tenantId, record),
      tenantLookups(directory, tenantId),
      attestations,
    );
  }

  async #lift(
    actor: Actor,
    tenantId: string,
    input: UnblockInput,
    source: UnblockSource,
    probationUntilAt: number | null,
  ) {
    const { directory, publisher, metrics } = this.#deps;
    const block = enforcedBlock(tenantId, requireTenant(directory, tenantId));
    const missing = missingAttestations(input.attestations ?? {});
    if (missing.length > 0) {
      throw new RelayguardError(
        'ATTESTATION_MISSING',
        `attestations: ${missing.join(', ')} must be true before the block is lifted`,
        { field: `attestations.${missing[0]}` },
      );
    }
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
          warnings: warnings.join('; '),
          ...Object.fromEntries(ATTESTATION_KEYS.map((key) => [key, 'true'])),
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
    };
  }
}
