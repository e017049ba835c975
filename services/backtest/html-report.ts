// The backtest as one self-contained HTML file (no scripts, no external assets: it can be mailed or attached to
// a ticket): per policy, who would be blocked and who came close, and for each of them an inline SVG plot of U
// in the sliding window, minute by minute, against the thresholds, marking the would-block moment.
import { MINUTE_MS } from '../core/policy.js';
import {
  comparisonRows,
  describePolicy,
  EVIDENCE_HEADERS,
  evidenceCells,
  formatCount,
  formatDuration,
  formatTime,
  NEAR_HEADERS,
  nearCells,
} from './describe.js';
import type { PolicyReport, TenantPlot } from './engine.js';
import type { BacktestResult } from './source.js';

/** Plots per policy: a policy that would block thousands is better read in --json. */
const MAX_PLOTS = 200;

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => escapes[c]!);
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const W = 720;
const H = 220;
const PAD = { left: 56, right: 16, top: 14, bottom: 30 };

/** One tenant's U per minute as an SVG line, the two U thresholds as dashed lines, the moment as a marker. */
export function plotSvg(plot: TenantPlot): string {
  const { values, thresholds } = plot;
  const volume = thresholds.minUnregistered;
  const distinct = thresholds.minUnregisteredWithDistinct;
  const top = Math.max(volume, distinct, ...values) * 1.1 || 1;
  const span = Math.max(values.length - 1, 1);
  const x = (i: number) => PAD.left + (i / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / top) * (H - PAD.top - PAD.bottom);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const hline = (v: number, label: string, dash: string) =>
    `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="threshold" stroke-dasharray="${dash}"/>` +
    `<text x="${W - PAD.right - 4}" y="${(y(v) - 4).toFixed(1)}" text-anchor="end" class="label">${esc(label)}</text>`;
  const markIndex = (plot.markAt - plot.firstMinute * MINUTE_MS) / MINUTE_MS;
  const mx = x(Math.min(Math.max(markIndex, 0), span)).toFixed(1);
  const markLabel =
    plot.kind === 'blocked'
      ? `would block ${formatTime(plot.markAt)} (U = ${plot.markValue})`
      : `closest ${formatTime(plot.markAt)} (U = ${plot.markValue})`;
  const ticks = [0, Math.floor(span / 2), span]
    .map((i) => {
      const at = formatTime((plot.firstMinute + i) * MINUTE_MS).slice(11, 16);
      return `<text x="${x(i).toFixed(1)}" y="${H - 10}" text-anchor="middle" class="label">${at}</text>`;
    })
    .join('');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="U per minute for ${esc(plot.tenantId)}">`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" class="frame"/>`,
    `<text x="${PAD.left - 6}" y="${y(0).toFixed(1)}" text-anchor="end" class="label">0</text>`,
    `<text x="${PAD.left - 6}" y="${(y(top / 1.1) + 4).toFixed(1)}" text-anchor="end" class="label">${Math.round(top / 1.1)}</text>`,
    hline(volume, `U threshold, volume rule: ${volume}`, '6 4'),
    distinct !== volume
      ? hline(distinct, `U threshold with D >= ${thresholds.minDistinctDomains}: ${distinct}`, '2 4')
      : '',
    `<polyline points="${points}" class="u"/>`,
    `<line x1="${mx}" x2="${mx}" y1="${PAD.top}" y2="${H - PAD.bottom}" class="mark ${plot.kind}"/>`,
    // The label reads away from the nearer edge, so it stays inside the plot.
    markIndex > span / 2
      ? `<text x="${mx}" y="${PAD.top + 12}" dx="-4" text-anchor="end" class="label mark-label">${esc(markLabel)}</text>`
      : `<text x="${mx}" y="${PAD.top + 12}" dx="4" class="label mark-label">${esc(markLabel)}</text>`,
    ticks,
    '</svg>',
  ].join('\n');
}

function policySection(report: PolicyReport, plots: readonly TenantPlot[]): string {
  const parts = [
    `<section><h2>Policy ${esc(report.name)}${report.inForce ? ' (in force)' : ''}</h2>`,
    `<p>${esc(describePolicy(report.policy))}</p>`,
  ];
  if (report.blocked.length === 0) parts.push('<p>Would block nobody.</p>');
  else {
    parts.push(`<h3>Would block (${report.blocked.length})</h3>`);
    parts.push(
      table(
        ['tenant', 'blocked at', 'after volume began', 'mode', 'reason', ...EVIDENCE_HEADERS],
        report.blocked.map((b) => [
          b.tenantId,
          formatTime(b.blockedAt),
          formatDuration(b.afterVolumeBeganMs),
          b.mode,
          b.reason,
          ...evidenceCells(b.evidence, { domains: 5, connectorCreatedAt: true }),
        ]),
      ),
    );
  }
  if (report.near.length === 0) parts.push('<p>No close calls (within 20% of a threshold).</p>');
  else {
    parts.push(`<h3>Close calls, within 20% of a threshold (${report.near.length})</h3>`);
    parts.push(table(NEAR_HEADERS, report.near.map(nearCells)));
  }
  const diff = report.comparedToInForce;
  if (diff)
    parts.push(
      '<h3>Against the policy in force</h3>',
      table(['change', 'tenants'], comparisonRows(diff, 50)),
    );
  if (plots.length > 0) {
    parts.push('<h3>U in the sliding window, per minute (UTC)</h3>');
    for (const plot of plots.slice(0, MAX_PLOTS))
      parts.push(
        `<figure><figcaption>${esc(plot.tenantId)} (${plot.kind})</figcaption>${plotSvg(plot)}</figure>`,
      );
    if (plots.length > MAX_PLOTS) parts.push(`<p>${plots.length - MAX_PLOTS} more plots left out.</p>`);
  }
  parts.push('</section>');
  return parts.join('\n');
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1em 0; }
figcaption { font-weight: 600; }
svg .frame { fill: #fcfcfc; stroke: #ddd; }
svg .u { fill: none; stroke: #1f5fbf; stroke-width: 1.5; }
svg .threshold { stroke: #888; }
svg .mark { stroke-width: 2; }
svg .mark.blocked { stroke: #c62828; }
svg .mark.near { stroke: #ef8f00; }
svg .label { font-size: 11px; fill: #555; }
svg .mark-label { fill: #222; }
`;

export function renderBacktestHtml(
  result: BacktestResult,
  plots: readonly (readonly TenantPlot[])[],
): string {
  const { events, source } = result;
  const problems = Object.entries(source.problems).filter(([, p]) => p.count > 0);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>relayguard backtest</title>',
    `<style>${STYLE}</style></head><body>`,
    '<h1>relayguard backtest</h1>',
    `<p>${formatCount(events.scored)} events from ${esc(source.description)}: ${formatCount(events.tenants)} tenants, ${esc(formatTime(events.firstAt))} to ${esc(formatTime(events.lastAt))}.</p>`,
    table(
      ['message class', 'messages'],
      Object.entries(events.byClass).map(([messageClass, n]) => [messageClass, formatCount(n)]),
    ),
    Object.keys(events.invalid).length === 0
      ? ''
      : table(
          ['events that can never be scored (the live scorer dead-letters them)', 'count'],
          Object.entries(events.invalid).map(([code, n]) => [code, formatCount(n)]),
        ),
    events.tenantsWithoutAcceptedDomains === 0
      ? ''
      : `<p>${formatCount(events.tenantsWithoutAcceptedDomains)} tenants have no accepted domain in the tenants file: all their mail counts as unregistered.</p>`,
    problems.length === 0
      ? '<p>Input problems: none.</p>'
      : table(
          ['input problem (counted, skipped)', 'count', 'first line'],
          problems.map(([kind, p]) => [kind, formatCount(p.count), p.firstLine ?? '-']),
        ),
    ...result.policies.map((report, i) => policySection(report, plots[i] ?? [])),
    '</body></html>',
    '',
  ].join('\n');
}
