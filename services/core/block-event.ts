// The block a policy decision publishes: its deterministic id (the same events decide the same block, so a replay
// publishes it again harmlessly) and the evidence an operator reads, taken from the window at the deciding message.
import type { ScopeFields } from './block-scope.js';
import { topTracked } from './connector-windows.js';
import type { BlockReason, ConnectorVolume, TenantBlockEvent, TenantBlocked } from './contracts.generated.js';
import { blockIdFor } from './episodes.js';
import { type EffectivePolicy, MINUTE_MS, POLICY_VERSION, type Policy, type WindowCounts } from './policy.js';
import { countsSlot, type TenantWindow, windowCounts, windowSpan } from './windows.js';

/** Domains and connectors named in a block's evidence, most messages first. */
const TOP_EVIDENCE = 10;

/** The scope fields of a block of the whole tenant, as decided before blocks had scopes. */
export const TENANT_SCOPE = {
  scope: 'TENANT',
  connectorIds: [],
  scopeReason: '',
  widenedFrom: null,
  liftedConnectorIds: [],
} as const satisfies Pick<
  TenantBlocked,
  'scope' | 'connectorIds' | 'scopeReason' | 'widenedFrom' | 'liftedConnectorIds'
>;

/**
 * The block decided at the window's end with this scope. Its id is built from the window's end, or from the minute
 * after it when that is the id of the block this one widens (decided in the same minute): the two must differ.
 */
export function blockEvent(
  tenantId: string,
  window: TenantWindow,
  occurredAt: number,
  reason: BlockReason,
  counts: WindowCounts,
  effective: EffectivePolicy,
  policy: Pick<Policy, 'windowMinutes'>,
  context: { connectorCreatedAt(tenantId: string, connectorId: string): number | null },
  scope: ScopeFields,
): TenantBlockEvent {
  const span = windowSpan(window, policy.windowMinutes);
  let blockId = blockIdFor(tenantId, span.end, window.resetAt);
  if (blockId === scope.widenedFrom) blockId = blockIdFor(tenantId, span.end + MINUTE_MS, window.resetAt);
  return {
    eventId: blockId,
    tenantId,
    occurredAt,
    kind: 'BLOCKED',
    unblocked: null,
    blocked: {
      blockId,
      mode: effective.mode,
      reason,
      policyVersion: POLICY_VERSION,
      probation: effective.probation,
      ...scope,
      evidence: {
        windowStart: span.start,
        windowEnd: span.end,
        unregistered: counts.unregistered,
        forwardedUnregistered: counts.forwardedUnregistered,
        total: counts.total,
        distinctUnregisteredDomains: counts.distinctUnregisteredDomains,
        thresholds: effective.thresholds,
        topDomains: topTracked(window.domains, TOP_EVIDENCE).map(([domain, t]) => ({
          domain,
          messages: t.messages,
        })),
        connectors: evidenceConnectors(tenantId, window, effective.forwardedWeight, context),
      },
    },
  };
}

/**
 * The connectors that carried unregistered mail (forwarded included) in the window, most U first, then most T:
 * each with its U (messages), T and D.
 */
function evidenceConnectors(
  tenantId: string,
  window: TenantWindow,
  forwardedWeight: number,
  context: { connectorCreatedAt(tenantId: string, connectorId: string): number | null },
): ConnectorVolume[] {
  const counts = countsSlot();
  const volumes: ConnectorVolume[] = [];
  for (const [connectorId, connector] of window.connectors) {
    if (connector.messages === 0) continue;
    const own = windowCounts(connector, forwardedWeight, counts);
    volumes.push({
      connectorId,
      messages: own.unregistered,
      createdAt: context.connectorCreatedAt(tenantId, connectorId),
      total: own.total,
      distinctUnregisteredDomains: own.distinctUnregisteredDomains,
    });
  }
  return volumes
    .sort(
      (a, b) =>
        b.messages - a.messages ||
        b.total - a.total ||
        (a.connectorId < b.connectorId ? -1 : a.connectorId > b.connectorId ? 1 : 0),
    )
    .slice(0, TOP_EVIDENCE);
}
