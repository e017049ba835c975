// The backtest report for a terminal: what each policy would have done, and how the candidates differ from the
// policy in force. Machines read `--json`; people who want plots open `--html`.

import {
  comparisonRows,
  describePolicy,
  EVIDENCE_HEADERS,
  evidenceCells,
  formatCount,
  formatDuration,
  formatTime,
  listSome,
  NEAR_HEADERS,
  nearCells,
} from '../../backtest/describe.js';
import type { BlockDecision, NearTenant, PolicyReport, RefusalReport } from '../../backtest/engine.js';
import type { BacktestResult } from '../../backtest/source.js';
import { renderTable } from '../table.js';

const ROWS = 50;

export function renderBacktestText(result: BacktestResult): string {
  const { events, source } = result;
  const lines = [
    `Backtest of ${formatCount(events.scored)} events from ${source.description}: ${formatCount(events.tenants)} tenants, ${formatTime(events.firstAt)} to ${formatTime(events.lastAt)}.`,
    `Messages: ${Object.entries(events.byClass)
      .map(([messageClass, n]) => `${messageClass} ${formatCount(n)}`)
      .join(', ')}.`,
  ];
  if (events.tenantsWithoutAcceptedDomains > 0)
    lines.push(
      `${formatCount(events.tenantsWithoutAcceptedDomains)} tenants have no accepted domain in the tenants file: all their mail counts as unregistered.`,
    );
  const invalid = Object.entries(events.invalid);
  if (invalid.length > 0)
    lines.push(
      `Events that can never be scored (the live scorer would dead-letter them): ${invalid.map(([code, n]) => `${code} ${formatCount(n)}`).join(', ')}.`,
    );
  const problems = Object.entries(source.problems).filter(([, p]) => p.count > 0);
  lines.push(
    problems.length === 0
      ? 'Input problems: none.'
      : `Input problems (counted, skipped): ${problems
          .map(
            ([kind, p]) =>
              `${kind} ${formatCount(p.count)}${p.firstLine !== null ? ` (first at line ${p.firstLine})` : ''}`,
          )
          .join(', ')}.`,
  );
  const unresolved = source.details.unresolvedClients as { address: string; messages: number }[] | undefined;
  if (unresolved && unresolved.length > 0)
    lines.push(
      `Clients that resolved to no tenant: ${unresolved.map((c) => `${c.address} (${formatCount(c.messages)})`).join(', ')}.`,
    );
  for (const policy of result.policies) lines.push('', ...renderPolicy(policy));
  lines.push('', 'What each policy refused:', indent(refusalTable(result.policies)));
  return lines.join('\n');
}

/**
 * Per policy: its scope, the messages its blocks refused, the legitimate mail among them and the spam let
 * through (when the record says which messages are spam), and the time from each spamming tenant's first spam
 * message to the block that refused it.
 */
function refusalTable(policies: readonly PolicyReport[]): string {
  const labelled = (n: number | null) => (n === null ? 'unknown' : formatCount(n));
  return renderTable(
    ['policy', 'scope', 'blocks', 'refused', 'legitimate refused', 'spam let through', 'time to block'],
    policies.map((p) => [
      p.name,
      p.policy.blockScope,
      String(p.blocked.length),
      formatCount(p.refusals.refused),
      labelled(p.refusals.legitimateRefused),
      labelled(p.refusals.spamLetThrough),
      timesToBlock(p.refusals),
    ]),
  );
}

function timesToBlock(refusals: RefusalReport): string {
  if (refusals.spamTenants.length === 0) return '-';
  return listSome(
    refusals.spamTenants.map(
      (t) => `${t.tenantId} ${t.timeToBlockMs === null ? 'never blocked' : formatDuration(t.timeToBlockMs)}`,
    ),
  );
}

function renderPolicy(report: PolicyReport): string[] {
  const lines = [
    `Policy ${report.name}${report.inForce ? ' (in force)' : ''}: ${describePolicy(report.policy)}.`,
  ];
  if (report.outcomes.late > 0)
    lines.push(
      `  ${formatCount(report.outcomes.late)} events came later than the grace period and were not counted.`,
    );
  if (report.outcomes.republished > 0)
    lines.push(
      `  ${formatCount(report.outcomes.republished)} events were published again under the same event id and counted once.`,
    );
  lines.push(
    report.blocked.length === 0
      ? '  Would block: nobody.'
      : `  Would block ${report.blocked.length} time(s):\n${indent(blockedTable(report.blocked))}`,
  );
  lines.push(
    report.near.length === 0
      ? '  Close calls (within 20% of a threshold, never blocked): none.'
      : `  Close calls (within 20% of a threshold, never blocked): ${report.near.length}\n${indent(nearTable(report.near))}`,
  );
  const diff = report.comparedToInForce;
  if (diff)
    lines.push(
      '  Against the policy in force:',
      ...comparisonRows(diff).map(([change, tenants]) => `    ${change}: ${tenants}`),
    );
  return lines;
}

function blockedTable(blocked: readonly BlockDecision[]): string {
  const table = renderTable(
    ['tenant', 'blocked at', 'after volume began', 'mode', 'scope', 'reason', ...EVIDENCE_HEADERS],
    blocked
      .slice(0, ROWS)
      .map((b) => [
        b.tenantId,
        formatTime(b.blockedAt),
        formatDuration(b.afterVolumeBeganMs),
        b.mode,
        b.scope === 'CONNECTOR' ? b.connectorIds.join(', ') : 'tenant',
        b.reason,
        ...evidenceCells(b.evidence, { domains: 3 }),
      ]),
  );
  return blocked.length > ROWS ? `${table}\n... and ${blocked.length - ROWS} more (see --json)` : table;
}

function nearTable(near: readonly NearTenant[]): string {
  const table = renderTable(NEAR_HEADERS, near.slice(0, ROWS).map(nearCells));
  return near.length > ROWS ? `${table}\n... and ${near.length - ROWS} more (see --json)` : table;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
