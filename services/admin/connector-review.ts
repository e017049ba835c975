// The connector review: a tenant's connectors ranked by how unusual they are, each with the reasons, so a tenant
// admin or an operator looks first at what an attacker would have done — create a connector shortly before the
// spike, or change one, and push unregistered mail through it. Pure: the admin service passes the state in.
import type { RelayPath } from '../core/contracts.generated.js';
import type { ActiveBlock, Connector } from '../core/directory.js';
import { NEW_CONNECTOR_MS } from '../core/policy.js';

export type ReviewReasonCode =
  | 'blocked'
  | 'carried-unregistered-volume'
  | 'created-shortly-before-spike'
  | 'changed-shortly-before-spike'
  | 'created-recently'
  | 'new-creator'
  | 'not-configured';

export interface ReviewReason {
  readonly code: ReviewReasonCode;
  readonly detail: string;
}

export interface ConnectorReview {
  readonly connectorId: string;
  /** False for a connector named by the evidence or the window that is not configured (removed, or unnamed). */
  readonly configured: boolean;
  readonly enabled: boolean | null;
  readonly relayPath: RelayPath | null;
  readonly createdAt: number | null;
  readonly createdBy: string | null;
  readonly changedAt: number | null;
  /** Named by the connector-scoped block in force: its unregistered mail is refused. Blocked ones rank first. */
  readonly blocked: boolean;
  /** Unregistered messages it carried: in the block's evidence, and in the live window. */
  readonly unregisteredMessages: { readonly evidence: number; readonly window: number };
  /** 0-100: the higher, the more a person should look at it first. */
  readonly score: number;
  readonly reasons: readonly ReviewReason[];
}

export interface ReviewInput {
  readonly now: number;
  readonly connectors: readonly Connector[];
  /** The tenant's current block (enforce or monitor mode), whose evidence names the connectors of the spike. */
  readonly block: ActiveBlock | null;
  /** Unregistered messages per connector id in the tenant's live window. */
  readonly window: ReadonlyMap<string, number>;
}

const HOUR_MS = 3_600_000;
/** How long before the spike's window a creation or change counts as "shortly before". */
export const SPIKE_LEAD_MS = 24 * HOUR_MS;
/** A connector younger than this is "recently created": the policy's own period (a recent one is blocked with its flood). */
export const RECENT_MS = NEW_CONNECTOR_MS;

const WEIGHTS: Record<Exclude<ReviewReasonCode, 'carried-unregistered-volume'>, number> = {
  // Blocked connectors rank first whatever their score: the block already judged them.
  blocked: 0,
  'created-shortly-before-spike': 30,
  'changed-shortly-before-spike': 20,
  'created-recently': 15,
  'new-creator': 15,
  // An unconfigured id carried mail nobody can review: it ranks by volume alone.
  'not-configured': 0,
};
/** The volume reason weighs up to this, in proportion to the connector's share of the unregistered mail. */
const VOLUME_WEIGHT = 40;

/**
 * The tenant's connectors, most unusual first: the connectors of a connector-scoped block in force, then by
 * score, unregistered volume and id.
 */
export function reviewConnectors(input: ReviewInput): ConnectorReview[] {
  const evidence = new Map(input.block?.evidence.connectors.map((c) => [c.connectorId, c.messages]) ?? []);
  // The block's evidence is what the spike looked like; without a block the live window is all there is.
  const volumes = evidence.size > 0 ? evidence : input.window;
  const totalVolume = [...volumes.values()].reduce((sum, messages) => sum + messages, 0);
  // When the block was decided: a block restated by a per-connector lift keeps the evidence of the decision.
  const decidedAt = input.block && Math.min(input.block.blockedAt, input.block.evidence.windowEnd);
  const spike = input.block
    ? { from: input.block.evidence.windowStart - SPIKE_LEAD_MS, to: decidedAt! }
    : null;
  const firstCreators = creatorsInOrder(input.connectors);
  const blockedIds = new Set(
    input.block?.mode === 'ENFORCE' && input.block.scope === 'CONNECTOR' ? input.block.connectorIds : [],
  );
  const blockedReason = (connectorId: string): ReviewReason[] =>
    blockedIds.has(connectorId)
      ? [{ code: 'blocked', detail: `blocked by ${input.block!.blockId}: its unregistered mail is refused` }]
      : [];

  const reviews: ConnectorReview[] = input.connectors.map((connector) => {
    const carried = {
      evidence: evidence.get(connector.connectorId) ?? 0,
      window: input.window.get(connector.connectorId) ?? 0,
    };
    const reasons = blockedReason(connector.connectorId);
    const inSpike = (at: number) => spike !== null && at >= spike.from && at <= spike.to;
    if (inSpike(connector.createdAt)) {
      reasons.push({
        code: 'created-shortly-before-spike',
        detail: `created ${before(connector.createdAt, decidedAt!)} the block, by ${connector.createdBy}`,
      });
    } else if (input.now - connector.createdAt <= RECENT_MS) {
      reasons.push({
        code: 'created-recently',
        detail: `created ${duration(input.now - connector.createdAt)} ago, by ${connector.createdBy}`,
      });
    }
    // Changes after the block are remediation, not part of the attack.
    if (connector.changedAt !== connector.createdAt && inSpike(connector.changedAt)) {
      reasons.push({
        code: 'changed-shortly-before-spike',
        detail: `changed ${before(connector.changedAt, decidedAt!)} the block, by ${connector.updatedBy}`,
      });
    }
    const earlier = firstCreators.get(connector.createdBy);
    if (earlier !== undefined && earlier.index > 0 && earlier.connectorId === connector.connectorId) {
      reasons.push({
        code: 'new-creator',
        detail: `created by ${connector.createdBy}, who created none of the tenant's earlier connectors`,
      });
    }
    return review(connector.connectorId, connector, carried, reasons, totalVolume);
  });

  const configured = new Set(input.connectors.map((c) => c.connectorId));
  for (const connectorId of new Set([...evidence.keys(), ...input.window.keys()])) {
    if (configured.has(connectorId)) continue;
    const carried = { evidence: evidence.get(connectorId) ?? 0, window: input.window.get(connectorId) ?? 0 };
    const detail =
      connectorId === 'unknown'
        ? 'the relay named no connector for this mail: check which servers relay without one'
        : 'not a configured connector (removed since, or named by a relay that does not match the directory)';
    const reasons = [...blockedReason(connectorId), { code: 'not-configured' as const, detail }];
    reviews.push(review(connectorId, undefined, carried, reasons, totalVolume));
  }

  return reviews.sort(
    (a, b) =>
      Number(b.blocked) - Number(a.blocked) ||
      b.score - a.score ||
      volumeOf(b) - volumeOf(a) ||
      (a.connectorId < b.connectorId ? -1 : a.connectorId > b.connectorId ? 1 : 0),
  );

  function volumeOf(entry: ConnectorReview): number {
    return volumes === evidence ? entry.unregisteredMessages.evidence : entry.unregisteredMessages.window;
  }
}

function review(
  connectorId: string,
  connector: Connector | undefined,
  carried: { evidence: number; window: number },
  reasons: ReviewReason[],
  totalVolume: number,
): ConnectorReview {
  const blocked = reasons.some((reason) => reason.code === 'blocked');
  let score = reasons.reduce((sum, reason) => sum + WEIGHTS[reason.code as keyof typeof WEIGHTS], 0);
  const volume = carried.evidence || carried.window;
  if (volume > 0 && totalVolume > 0) {
    const share = volume / totalVolume;
    score += VOLUME_WEIGHT * share;
    const where = carried.evidence > 0 ? "in the block's evidence" : 'in the current window';
    reasons.splice(Number(blocked), 0, {
      code: 'carried-unregistered-volume',
      detail: `carried ${volume} unregistered messages ${where} (${Math.round(share * 100)}% of them)`,
    });
  }
  return {
    connectorId,
    configured: connector !== undefined,
    enabled: connector?.enabled ?? null,
    relayPath: connector?.relayPath ?? null,
    createdAt: connector?.createdAt ?? null,
    createdBy: connector?.createdBy ?? null,
    changedAt: connector?.changedAt ?? null,
    blocked,
    unregisteredMessages: carried,
    score: Math.min(100, Math.round(score)),
    reasons,
  };
}

/** For each creator, the first connector it created and that connector's rank in creation order. */
function creatorsInOrder(
  connectors: readonly Connector[],
): Map<string, { index: number; connectorId: string }> {
  const ordered = [...connectors].sort(
    (a, b) => a.createdAt - b.createdAt || (a.connectorId < b.connectorId ? -1 : 1),
  );
  const first = new Map<string, { index: number; connectorId: string }>();
  ordered.forEach((connector, index) => {
    if (!first.has(connector.createdBy))
      first.set(connector.createdBy, { index, connectorId: connector.connectorId });
  });
  return first;
}

function before(at: number, reference: number): string {
  return `${duration(reference - at)} before`;
}

/** "35 min", "2 h", "3 d": precise enough to read, stable enough to test. */
function duration(ms: number): string {
  if (ms < HOUR_MS) return `${Math.max(1, Math.round(ms / 60_000))} min`;
  if (ms < 48 * HOUR_MS) return `${Math.round(ms / HOUR_MS)} h`;
  return `${Math.round(ms / (24 * HOUR_MS))} d`;
}
