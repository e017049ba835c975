// `relayguard simulate --plot <file.svg>`: the compromised tenant's attack as the scorer saw it — unregistered
// messages per minute, the window's U against the policy's thresholds, and the moment of the block. Plain SVG,
// so it renders on GitHub and in any browser without a charting library.
import { MINUTE_MS } from '../../core/policy.js';
import { COMPROMISED_TENANT } from './fleet.js';
import type { SimulationSummary } from './run.js';

const WIDTH = 900;
const HEIGHT = 440;
const MARGIN = { top: 60, right: 24, bottom: 78, left: 64 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const COLORS = {
  bars: '#f4a261',
  rejected: '#adb5bd',
  u: '#1d3557',
  threshold: '#e63946',
  block: '#2a9d8f',
  compromise: '#6c757d',
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A "nice" axis step (1, 2 or 5 times a power of ten) giving about `ticks` intervals up to `max`. */
function niceStep(max: number, ticks: number): number {
  const raw = Math.max(max, 1) / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * power).find((step) => step >= raw) ?? 10 * power;
}

export function renderAttackPlot(summary: SimulationSummary): string {
  const { timeline, thresholds } = summary;
  const minutes = Math.max(timeline.length, 1);
  const volumeLine = thresholds.minUnregistered;
  const distinctLine = thresholds.minUnregisteredWithDistinct;
  const peak = Math.max(
    volumeLine,
    ...timeline.map((p) => Math.max(p.windowUnregistered, p.unregistered + p.rejected)),
  );
  const step = niceStep(peak * 1.08, 6);
  const top = Math.ceil((peak * 1.08) / step) * step;
  const x = (minute: number) => MARGIN.left + (minute / minutes) * PLOT_W;
  const y = (value: number) => MARGIN.top + PLOT_H - (value / top) * PLOT_H;
  const barWidth = Math.max((PLOT_W / minutes) * 0.8, 1);
  const parts: string[] = [];
  const text = (tx: number, ty: number, body: string, attrs = '') =>
    parts.push(`<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" ${attrs}>${escapeXml(body)}</text>`);

  parts.push(
    `<title>${escapeXml(`Simulated attack on ${COMPROMISED_TENANT}: unregistered mail per minute, U against the thresholds, and the block`)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
  );
  text(
    MARGIN.left,
    26,
    "relayguard simulate: a compromised tenant's unregistered mail, and the block",
    'font-size="15" font-weight="bold"',
  );
  text(
    MARGIN.left,
    44,
    `${COMPROMISED_TENANT}; U counts its unregistered messages in a ${summary.windowMinutes}-minute event-time window`,
    'font-size="12" fill="#495057"',
  );

  // Grid and y axis.
  for (let value = 0; value <= top; value += step) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#e9ecef"/>`,
    );
    text(MARGIN.left - 8, y(value) + 4, String(value), 'text-anchor="end" font-size="11"');
  }
  text(
    16,
    MARGIN.top + PLOT_H / 2,
    'messages',
    `font-size="12" transform="rotate(-90 16 ${MARGIN.top + PLOT_H / 2})" text-anchor="middle"`,
  );
  // X axis: minutes since the start.
  const xStep = niceStep(minutes, 9);
  for (let minute = 0; minute <= minutes; minute += xStep) {
    text(x(minute), MARGIN.top + PLOT_H + 18, String(minute), 'text-anchor="middle" font-size="11"');
  }
  text(
    MARGIN.left + PLOT_W / 2,
    MARGIN.top + PLOT_H + 38,
    'minutes of event time',
    'text-anchor="middle" font-size="12"',
  );
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y(0)}" y2="${y(0)}" stroke="#343a40"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${y(0)}" stroke="#343a40"/>`,
  );

  // Unregistered messages relayed in each minute and, stacked on them, those the relays rejected (the block).
  const bar = (minute: number, from: number, to: number, color: string) => {
    if (to <= from) return;
    parts.push(
      `<rect x="${(x(minute) + (PLOT_W / minutes - barWidth) / 2).toFixed(1)}" y="${y(to).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y(from) - y(to)).toFixed(1)}" fill="${color}"/>`,
    );
  };
  for (const point of timeline) {
    bar(point.minute, 0, point.unregistered, COLORS.bars);
    bar(point.minute, point.unregistered, point.unregistered + point.rejected, COLORS.rejected);
  }

  // Thresholds: U >= minUnregistered (with U/T), and U >= minUnregisteredWithDistinct (with D).
  const thresholdLine = (value: number, label: string) => {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="${COLORS.threshold}" stroke-dasharray="6 4"/>`,
    );
    text(MARGIN.left + 6, y(value) - 5, label, `font-size="11" fill="${COLORS.threshold}"`);
  };
  thresholdLine(volumeLine, `U ≥ ${volumeLine} (and U/T ≥ ${thresholds.minUnregisteredRatio})`);
  thresholdLine(distinctLine, `U ≥ ${distinctLine} (and D ≥ ${thresholds.minDistinctDomains})`);

  // U, the window's unregistered count, at the end of each minute.
  const path = timeline
    .map(
      (p, i) => `${i === 0 ? 'M' : 'L'}${x(p.minute + 1).toFixed(1)},${y(p.windowUnregistered).toFixed(1)}`,
    )
    .join(' ');
  if (path) parts.push(`<path d="${path}" fill="none" stroke="${COLORS.u}" stroke-width="2.5"/>`);

  // The compromise and the block.
  const marker = (minute: number, color: string, label: string, row: number) => {
    parts.push(
      `<line x1="${x(minute).toFixed(1)}" x2="${x(minute).toFixed(1)}" y1="${MARGIN.top}" y2="${y(0)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="2 3"/>`,
    );
    text(x(minute) + 5, MARGIN.top + 14 + row * 15, label, `font-size="11" fill="${color}"`);
  };
  const minuteOf = (at: number) => (at - summary.startedAt) / MINUTE_MS;
  marker(minuteOf(summary.compromiseStartedAt), COLORS.compromise, 'compromise begins', 0);
  const block = summary.blocked.find((b) => b.kind === 'compromised');
  if (block) {
    marker(
      minuteOf(block.blockedAt),
      COLORS.block,
      `blocked ${(block.afterCompromiseMs! / MINUTE_MS).toFixed(1)} min later (U = ${block.block.evidence.unregistered}, D = ${block.block.evidence.distinctUnregisteredDomains})`,
      1,
    );
  }

  // Legend.
  const legendY = HEIGHT - 16;
  const legend: [string, string][] = [
    [COLORS.bars, 'unregistered, relayed (per minute)'],
    [COLORS.rejected, 'rejected by the relay, 550 5.7.750 (per minute)'],
    [COLORS.u, 'U (window)'],
    [COLORS.threshold, 'thresholds'],
  ];
  let legendX = MARGIN.left;
  for (const [color, label] of legend) {
    parts.push(`<rect x="${legendX}" y="${legendY - 10}" width="14" height="10" fill="${color}"/>`);
    text(legendX + 20, legendY, label, 'font-size="12"');
    legendX += 34 + label.length * 6.2;
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif">`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
