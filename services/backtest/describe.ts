// Words and numbers shared by the terminal and HTML reports, so both say the same thing the same way.
import type { BlockEvidence } from '../core/contracts.generated.js';
import type { Policy } from '../core/policy.js';
import type { NearTenant, PolicyDiff } from './engine.js';

export function describePolicy(policy: Policy): string {
  const t = policy.thresholds;
  const forwarded = policy.forwardedWeight > 0 ? `, forwarded mail weighs ${policy.forwardedWeight}` : '';
  return (
    `block when (U >= ${t.minUnregistered} and U/T >= ${t.minUnregisteredRatio}) or ` +
    `(D >= ${t.minDistinctDomains} and U >= ${t.minUnregisteredWithDistinct}) in ${policy.windowMinutes} min` +
    `${forwarded}; ${policy.mode}; blocks scoped: ${policy.blockScope}`
  );
}

export function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const minutes = Math.abs(ms) / 60_000;
  return minutes < 120 ? `${sign}${minutes.toFixed(1)} min` : `${sign}${(minutes / 60).toFixed(1)} h`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `a, b, c and 4 more` */
export function listSome(items: readonly string[], limit = 8): string {
  if (items.length === 0) return 'none';
  const shown = items.slice(0, limit).join(', ');
  return items.length > limit ? `${shown} and ${items.length - limit} more` : shown;
}

/** Headers of a block's evidence columns, in the order `evidenceCells` gives them. */
export const EVIDENCE_HEADERS = ['U', 'F', 'T', 'D', 'top domains', 'connectors'] as const;

/** A block's evidence as table cells: the counters, the top domains, the connectors (with creation time if asked). */
export function evidenceCells(
  evidence: BlockEvidence,
  options: { readonly domains: number; readonly connectorCreatedAt?: boolean },
): string[] {
  return [
    String(evidence.unregistered),
    String(evidence.forwardedUnregistered),
    String(evidence.total),
    String(evidence.distinctUnregisteredDomains),
    evidence.topDomains
      .slice(0, options.domains)
      .map((d) => `${d.domain} (${d.messages})`)
      .join(', '),
    evidence.connectors
      .map((c) =>
        options.connectorCreatedAt && c.createdAt !== null
          ? `${c.connectorId} (created ${formatTime(c.createdAt)})`
          : c.connectorId,
      )
      .join(', '),
  ];
}

/** Headers of a close call's columns, in the order `nearCells` gives them. */
export const NEAR_HEADERS = ['tenant', 'closest at', 'closest rule', 'reached', 'U', 'T', 'D'] as const;

export function nearCells(near: NearTenant): string[] {
  return [
    near.tenantId,
    formatTime(near.at),
    near.closestRule,
    `${Math.round(near.proximity * 100)}%`,
    String(near.counts.unregistered),
    String(near.counts.total),
    String(near.counts.distinctUnregisteredDomains),
  ];
}

/** What a candidate policy changes against the one in force: a label with its count, and the tenants. */
export function comparisonRows(diff: PolicyDiff, limit?: number): [label: string, tenants: string][] {
  const moved = (sign: number) =>
    diff.blockedAtAnotherTime
      .filter((m) => Math.sign(m.byMs) === sign)
      .map((m) => `${m.tenantId} (${formatDuration(Math.abs(m.byMs))})`);
  const earlier = moved(-1);
  const later = moved(1);
  return [
    [`newly blocked (${diff.newlyBlocked.length})`, listSome(diff.newlyBlocked, limit)],
    [`no longer blocked (${diff.noLongerBlocked.length})`, listSome(diff.noLongerBlocked, limit)],
    [`blocked earlier (${earlier.length})`, listSome(earlier, limit)],
    [`blocked later (${later.length})`, listSome(later, limit)],
    [`newly close (${diff.newlyNear.length})`, listSome(diff.newlyNear, limit)],
    [`no longer close (${diff.noLongerNear.length})`, listSome(diff.noLongerNear, limit)],
  ];
}
