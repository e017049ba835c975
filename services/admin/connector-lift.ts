// Lifting some connectors of a connector-scoped block, pure: which connectors a request lifts (or why it cannot),
// and the block that remains. The remaining block is published as a BLOCKED event in a new episode generation
// (docs/admin-api.md, "Per-connector lift"): the compacted topic keeps it as the tenant's state, and the scorer's
// window starts afresh, so blocking again takes fresh evidence.
import type { TenantBlockEvent } from '../core/contracts.generated.js';
import type { ActiveBlock } from '../core/directory.js';
import { blockIdFor, generationAfterUnblock } from '../core/episodes.js';
import { RelayguardError } from '../core/errors.js';

/** A lift of some, not all, of a connector-scoped block's connectors. */
export interface ConnectorLift {
  readonly lifted: readonly string[];
  readonly remaining: readonly string[];
}

/**
 * What lifting `connectorIds` of the block does: null when the whole block is lifted (no connectors named, or
 * every blocked connector named), else the connectors lifted and those that stay blocked. Naming a connector of
 * a tenant block, or one the block does not cover, is bad input (INVALID_FIELD on `connectorIds`).
 */
export function connectorLift(
  tenantId: string,
  block: ActiveBlock,
  connectorIds: readonly string[] | undefined,
): ConnectorLift | null {
  if (connectorIds === undefined) return null;
  if (block.scope !== 'CONNECTOR') {
    throw new RelayguardError(
      'INVALID_FIELD',
      `connectorIds: block ${block.blockId} covers the whole of tenant ${tenantId}, not single connectors: lift it without naming connectors`,
      { field: 'connectorIds' },
    );
  }
  const named = [...new Set(connectorIds)];
  const notBlocked = named.filter((connectorId) => !block.connectorIds.includes(connectorId));
  if (notBlocked.length > 0) {
    throw new RelayguardError(
      'INVALID_FIELD',
      `connectorIds: ${notBlocked.join(', ')} ${notBlocked.length === 1 ? 'is' : 'are'} not blocked by block ${block.blockId}, which blocks ${block.connectorIds.join(', ')}`,
      { field: 'connectorIds' },
    );
  }
  const remaining = block.connectorIds.filter((connectorId) => !named.includes(connectorId));
  return remaining.length === 0 ? null : { lifted: named, remaining };
}

/**
 * The block that remains after a per-connector lift at `liftedAt`: the same decision (evidence, mode, reason,
 * probation, why this scope) on the remaining connectors, under a block id of the generation the lift starts.
 */
export function remainingBlockEvent(
  tenantId: string,
  block: ActiveBlock,
  lift: ConnectorLift,
  liftedAt: number,
): TenantBlockEvent {
  const blockId = blockIdFor(tenantId, liftedAt, generationAfterUnblock(liftedAt, block.blockId));
  return {
    eventId: blockId,
    tenantId,
    occurredAt: liftedAt,
    kind: 'BLOCKED',
    unblocked: null,
    blocked: {
      blockId,
      mode: block.mode,
      reason: block.reason,
      policyVersion: block.policyVersion,
      probation: block.probation,
      evidence: block.evidence,
      scope: 'CONNECTOR',
      connectorIds: [...lift.remaining],
      scopeReason: block.scopeReason,
      widenedFrom: null,
      liftedConnectorIds: [...block.liftedConnectorIds, ...lift.lifted],
    },
  };
}
