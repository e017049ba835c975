// What a block covers (issue #22, docs/policy.md#block-scope): the whole tenant, or only the connectors that carry
// the flood when the tenant's other connectors stay under the thresholds on their own. Pure: read off the window's
// per-connector counts (core/windows.ts) when the tenant's window fires, and while a connector-scoped block is in
// force, whether the rest of the tenant fires too (the flood moved: the block is widened to the tenant). Then the
// decision itself: the block published and the window's open episode it becomes.
import { blockEvent } from './block-event.js';
import { type ConnectorWindow, UNKNOWN_CONNECTOR } from './connector-windows.js';
import type { BlockReason, TenantBlockEvent, TenantBlocked, Thresholds } from './contracts.generated.js';
import {
  type EffectivePolicy,
  evaluate,
  NEW_CONNECTOR_MS,
  type Policy,
  type WindowCounts,
} from './policy.js';
import type { BlockInForce, TenantScoring } from './scoring.js';
import { type CountsSlot, countsSlot, type TenantWindow, windowCounts } from './windows.js';

/** The scope fields of a block (TenantBlocked), as the policy decides them. */
export type ScopeFields = Pick<
  TenantBlocked,
  'scope' | 'connectorIds' | 'scopeReason' | 'widenedFrom' | 'liftedConnectorIds'
>;

const tenantScope = (scopeReason: string, widenedFrom: string | null = null): ScopeFields => ({
  scope: 'TENANT',
  connectorIds: [],
  scopeReason,
  widenedFrom,
  liftedConnectorIds: [],
});

export interface ScopeInputs {
  readonly window: TenantWindow;
  /** The tenant's counts, which fired. */
  readonly counts: WindowCounts;
  readonly thresholds: Thresholds;
  readonly forwardedWeight: number;
  readonly blockScope: Policy['blockScope'];
  /** When the connector was created, when known: a recent one carrying unregistered mail is a culprit too. */
  readonly createdAt: (connectorId: string) => number | null;
  /** The deciding message's time. */
  readonly at: number;
}

/**
 * The scope of a block decided now. CONNECTOR on the culprits (connectors whose own counts fire, and connectors
 * created within NEW_CONNECTOR_MS that carried unregistered mail) when there are culprits, mail of no known
 * connector is not among them, the rest of the tenant carries mail and does not fire on its own; TENANT otherwise,
 * with the reason in an operator's words.
 */
export function chooseScope(inputs: ScopeInputs): ScopeFields {
  const { window, counts, thresholds, forwardedWeight } = inputs;
  if (inputs.blockScope === 'tenant')
    return tenantScope('the policy blocks whole tenants (block scope tenant)');
  let attributed = 0;
  for (const connector of window.connectors.values()) attributed += connector.sums.total;
  if (attributed !== counts.total) {
    return tenantScope('part of the window was counted before connectors were counted one by one');
  }
  const culprits: string[] = [];
  const recent: string[] = [];
  const slot = countsSlot();
  for (const [connectorId, connector] of sortedConnectors(window)) {
    const own = windowCounts(connector, forwardedWeight, slot);
    if (evaluate(thresholds, own) !== null) {
      culprits.push(connectorId);
    } else if (own.unregistered > 0 && isRecent(inputs.createdAt(connectorId), inputs.at)) {
      culprits.push(connectorId);
      recent.push(connectorId);
    }
  }
  if (culprits.includes(UNKNOWN_CONNECTOR)) {
    return tenantScope(
      'mail of no known connector fires on its own (clients without a connector or certificate, or beyond ' +
        'the connectors tracked per tenant): it cannot be told apart from the tenant',
    );
  }
  if (culprits.length === 0) {
    return tenantScope('no connector fires on its own: the flood is spread over the tenant');
  }
  const rest = remainder(window, culprits, counts, forwardedWeight, countsSlot());
  const named = `connector${culprits.length > 1 ? 's' : ''} ${culprits.join(', ')}`;
  if (rest.total === 0) {
    return tenantScope(
      `${named} carried all of the tenant's mail: a narrower block would keep nothing flowing`,
    );
  }
  if (evaluate(thresholds, rest) !== null) {
    return tenantScope(
      `${named} fired, and the tenant's other connectors fire too (${rest.unregistered} unregistered messages)`,
    );
  }
  const created = recent.length > 0 ? ` (${recent.join(', ')} created in the last 7 days)` : '';
  return {
    scope: 'CONNECTOR',
    connectorIds: culprits,
    scopeReason:
      `${named}${created} carried ${counts.unregistered - rest.unregistered} of ${counts.unregistered} ` +
      "unregistered messages; the tenant's other connectors stay under the thresholds",
    widenedFrom: null,
    liftedConnectorIds: [],
  };
}

/**
 * Whether the tenant without its blocked connectors fires on its own: the flood moved, and the connector-scoped
 * block `widenedFrom` becomes a tenant block (its scope fields), or null. Cheap enough per message: the
 * distinct domains of the rest are counted only when the volume rule did not fire and they could reach theirs.
 */
export function widening(
  window: TenantWindow,
  blocked: readonly string[],
  counts: WindowCounts,
  thresholds: Thresholds,
  forwardedWeight: number,
  into: CountsSlot,
  widenedFrom: string,
): { reason: BlockReason; scope: ScopeFields } | null {
  const rest = remainder(window, blocked, counts, forwardedWeight, into, false);
  let reason = evaluate(thresholds, rest);
  if (reason === null && rest.unregistered >= thresholds.minUnregisteredWithDistinct) {
    let bound = 0;
    for (const [connectorId, connector] of window.connectors)
      if (!blocked.includes(connectorId)) bound += connector.domains.size;
    if (bound >= thresholds.minDistinctDomains) {
      into.distinctUnregisteredDomains = distinctDomainsOf(window, blocked);
      reason = evaluate(thresholds, rest);
    }
  }
  if (reason === null) return null;
  const scopeReason =
    `the flood moved: the tenant's connectors other than ${blocked.join(', ')} carried ` +
    `${rest.unregistered} unregistered messages of ${rest.total}, over the thresholds`;
  return { reason, scope: tenantScope(scopeReason, widenedFrom) };
}

/**
 * The tenant's counts without these connectors'. D is the distinct domains of the other connectors when
 * `withDomains`; else 0, for the caller to fill in when it needs it.
 */
function remainder(
  window: TenantWindow,
  excluded: readonly string[],
  counts: WindowCounts,
  forwardedWeight: number,
  into: CountsSlot,
  withDomains = true,
): WindowCounts {
  into.unregistered = counts.unregistered;
  into.forwardedUnregistered = counts.forwardedUnregistered;
  into.total = counts.total;
  for (const connectorId of excluded) {
    const sums = window.connectors.get(connectorId)?.sums;
    if (sums === undefined) continue;
    into.unregistered -= sums.unregistered + forwardedWeight * sums.forwarded;
    into.forwardedUnregistered -= sums.forwarded;
    into.total -= sums.total;
  }
  into.distinctUnregisteredDomains = withDomains ? distinctDomainsOf(window, excluded) : 0;
  return into;
}

/** Distinct unregistered domains the tenant's connectors but these carried (exact up to each one's cap). */
function distinctDomainsOf(window: TenantWindow, excluded: readonly string[]): number {
  const domains = new Set<string>();
  for (const [connectorId, connector] of window.connectors) {
    if (excluded.includes(connectorId)) continue;
    for (const domain of connector.domains.keys()) domains.add(domain);
  }
  return domains.size;
}

/** The window's connectors by id: the culprits are listed in the same order whatever order they arrived in. */
function sortedConnectors(window: TenantWindow): [string, ConnectorWindow][] {
  return [...window.connectors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function isRecent(createdAt: number | null, at: number): boolean {
  return createdAt !== null && at - createdAt <= NEW_CONNECTOR_MS;
}

/**
 * Publishes a block of this scope (the event returned) and makes it the window's open episode.
 */
export function decideBlock(
  window: TenantWindow,
  tenant: TenantScoring,
  at: number,
  reason: BlockReason,
  counts: WindowCounts,
  effective: EffectivePolicy,
  scope: ScopeFields,
): TenantBlockEvent {
  const { tenantId, policy, context } = tenant;
  const emit = blockEvent(tenantId, window, at, reason, counts, effective, policy, context, scope);
  const { blockId } = emit.blocked!;
  if (effective.mode === 'ENFORCE') window.activeBlockId = blockId;
  else window.monitorBlockId = blockId;
  window.blockedConnectors = scope.scope === 'CONNECTOR' ? scope.connectorIds : null;
  return emit;
}

/**
 * Under `auto`, widens the window's connector-scoped block `open` to the tenant when the tenant's other
 * connectors fire on their own: the spam moved (the wider block returned). A tenant block already in force (an
 * operator widened it, or another fold did) is taken as the episode instead. `rest` is overwritten.
 */
export function widenIfMoved(
  window: TenantWindow,
  tenant: TenantScoring,
  open: string,
  at: number,
  effective: EffectivePolicy,
  counts: WindowCounts,
  rest: CountsSlot,
): TenantBlockEvent | null {
  const blocked = window.blockedConnectors!;
  const moved = widening(
    window,
    blocked,
    counts,
    effective.thresholds,
    effective.forwardedWeight,
    rest,
    open,
  );
  if (moved === null) return null;
  const inForce = tenant.context.enforcedBlock(tenant.tenantId);
  if (inForce?.scope === 'TENANT' && inForce.blockId !== open) {
    adopt(window, inForce);
    return null;
  }
  return decideBlock(window, tenant, at, moved.reason, counts, effective, moved.scope);
}

/** Takes the block in force as the window's episode, with what it covers. */
export function adopt(window: TenantWindow, inForce: BlockInForce): void {
  window.activeBlockId = inForce.blockId;
  window.blockedConnectors = inForce.scope === 'CONNECTOR' ? inForce.connectorIds : null;
}

/** The monitor-mode episode closes when the counts fall below the thresholds. */
export function closeMonitorEpisode(window: TenantWindow): void {
  window.monitorBlockId = null;
  if (window.activeBlockId === null) window.blockedConnectors = null;
}
