// The block a policy decision publishes: its deterministic id (the same events decide the same block, so a replay
// publishes it again harmlessly) and the evidence an operator reads, taken from the window at the deciding message.
import type { BlockReason, ConnectorVolume, TenantBlockEvent, TenantBlocked } from './contracts.generated.js';
import { blockIdFor } from './episodes.js';
import { type EffectivePolicy, POLICY_VERSION, type Policy, type WindowCounts } from './policy.js';
import { type TenantWindow, topTracked, windowSpan } from './windows.js';

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

export function blockEvent(
  tenantId: string,
  window: TenantWindow,
  occurredAt: number,
  reason: BlockReason,
  counts: WindowCounts,
  effective: EffectivePolicy,
  policy: Pick<Policy, 'windowMinutes'>,
  context: { connectorCreatedAt(tenantId: string, connectorId: string): number | null },
): TenantBlockEvent {
  const span = windowSpan(window, policy.windowMinutes);
  const blockId = blockIdFor(tenantId, span.end, window.resetAt);
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
      ...TENANT_SCOPE,
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
        connectors: topTracked(window.connectors, TOP_EVIDENCE).map(
          ([connectorId, t]): ConnectorVolume => ({
            connectorId,
            messages: t.messages,
            createdAt: context.connectorCreatedAt(tenantId, connectorId),
            total: 0,
            distinctUnregisteredDomains: 0,
          }),
        ),
      },
    },
  };
}
