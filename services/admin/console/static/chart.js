// The live window as SVG, built with DOM calls (no markup strings, no charting library): the picture
// `relayguard simulate --plot` draws for a simulated attack, from a real tenant's window. Two charts: messages per
// minute (U and F as stacked bars, T as a line), and the running totals across the window (U and D) with the
// thresholds they are held against. A table of the same numbers follows for screen readers and keyboard users.
import { h, s } from './dom.js';

const WIDTH = 640;
const HEIGHT = 240;
const MARGIN = { top: 16, right: 16, bottom: 34, left: 52 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** A "nice" axis step (1, 2 or 5 times a power of ten) giving about `ticks` intervals up to `max`. */
function niceStep(max, ticks) {
  const raw = Math.max(max, 1) / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((f) => f * power).find((step) => step >= raw) ?? 10 * power;
}

const clock = (ms) => new Date(ms).toISOString().slice(11, 16);

/**
 * minutes: { at } (epoch ms) per bar, labelled by its UTC time of day; bars: stacked { label, className, values };
 * lines: { label, className, values }; thresholds: { label, className, value }. One value per entry of minutes.
 */
export function chart({ id, title, description, minutes, bars = [], lines = [], thresholds = [] }) {
  const count = Math.max(minutes.length, 1);
  const stacked = minutes.map((_, i) => bars.reduce((sum, bar) => sum + bar.values[i], 0));
  const peak = Math.max(
    1,
    ...stacked,
    ...lines.flatMap((line) => line.values),
    ...thresholds.map((t) => t.value),
  );
  // Every chart counts messages, domains or tenants: no fractional ticks.
  const step = Math.max(1, niceStep(peak * 1.08, 5));
  const top = Math.ceil((peak * 1.08) / step) * step;
  const x = (i) => MARGIN.left + (i / count) * PLOT_W;
  const y = (value) => MARGIN.top + PLOT_H - (value / top) * PLOT_H;
  const barWidth = Math.max((PLOT_W / count) * 0.8, 1);
  const grid = [];
  for (let value = 0; value <= top; value += step) {
    grid.push(
      s('line', { class: 'grid', x1: MARGIN.left, x2: MARGIN.left + PLOT_W, y1: y(value), y2: y(value) }),
      s('text', { class: 'tick', x: MARGIN.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, value),
    );
  }
  const labelEvery = Math.max(1, Math.ceil(count / 6));
  const timeTicks = minutes
    .map((minute, i) =>
      i % labelEvery === 0
        ? s('text', { class: 'tick', x: x(i), y: HEIGHT - MARGIN.bottom + 16 }, clock(minute.at))
        : null,
    )
    .filter(Boolean);
  const barShapes = minutes.flatMap((_, i) => {
    let base = 0;
    return bars.map((bar) => {
      const value = bar.values[i];
      const shape =
        value > 0
          ? s('rect', {
              class: bar.className,
              x: x(i) + (PLOT_W / count - barWidth) / 2,
              y: y(base + value),
              width: barWidth,
              height: y(base) - y(base + value),
            })
          : null;
      base += value;
      return shape;
    });
  });
  const lineShapes = lines.map((line) =>
    s('polyline', {
      class: line.className,
      fill: 'none',
      points: line.values
        .map((value, i) => `${(x(i) + PLOT_W / count / 2).toFixed(1)},${y(value).toFixed(1)}`)
        .join(' '),
    }),
  );
  const thresholdShapes = thresholds.flatMap((threshold) => [
    s('line', {
      class: `threshold ${threshold.className}`,
      x1: MARGIN.left,
      x2: MARGIN.left + PLOT_W,
      y1: y(threshold.value),
      y2: y(threshold.value),
    }),
    s(
      'text',
      {
        class: `threshold-label ${threshold.className}`,
        x: MARGIN.left + PLOT_W - 4,
        y: y(threshold.value) - 4,
        'text-anchor': 'end',
      },
      `${threshold.label} ${threshold.value}`,
    ),
  ]);
  const legend = [...bars, ...lines].map((entry) =>
    h('li', null, h('span', { class: `swatch ${entry.className}`, 'aria-hidden': 'true' }), entry.label),
  );
  return h(
    'figure',
    { class: 'chart' },
    s(
      'svg',
      {
        viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
        role: 'img',
        'aria-labelledby': `${id}-title ${id}-desc`,
      },
      s('title', { id: `${id}-title` }, title),
      s('desc', { id: `${id}-desc` }, description),
      grid,
      s('line', { class: 'axis', x1: MARGIN.left, x2: MARGIN.left + PLOT_W, y1: y(0), y2: y(0) }),
      timeTicks,
      barShapes,
      lineShapes,
      thresholdShapes,
    ),
    h('figcaption', null, h('strong', null, title), h('ul', { class: 'legend' }, legend)),
  );
}

function running(values) {
  let sum = 0;
  return values.map((value) => (sum += value));
}

/** The two charts of a tenant's window and a table of its minutes; `thresholds` are those in force. */
export function windowCharts(window, thresholds, forwardedWeight) {
  const { minutes } = window;
  const u = minutes.map((minute) => minute.unregistered);
  const f = minutes.map((minute) => minute.forwarded);
  const t = minutes.map((minute) => minute.total);
  const uInWindow = minutes.map((minute) => minute.unregistered + forwardedWeight * minute.forwarded);
  const span = `${clock(window.start)}–${clock(window.end)} UTC`;
  return [
    h(
      'div',
      { class: 'charts' },
      chart({
        id: 'per-minute',
        title: 'Messages per minute',
        description: `Unregistered (U), forwarded unregistered (F) and all (T) messages in each minute, ${span}.`,
        minutes,
        bars: [
          { label: 'U: unregistered, on-premises and application', className: 'u', values: u },
          { label: 'F: unregistered, forwarded', className: 'f', values: f },
        ],
        lines: [{ label: 'T: all messages', className: 't', values: t }],
      }),
      chart({
        id: 'running',
        title: 'Running totals across the window',
        description:
          `U and D summed minute by minute from the window's start (${span}); the last point is the window's ` +
          'value, which the thresholds are held against. D counts each domain at the minute it was last seen.',
        minutes,
        lines: [
          { label: 'U in the window', className: 'u-line', values: running(uInWindow) },
          {
            label: 'D: distinct unregistered domains',
            className: 'd-line',
            values: running(minutes.map((minute) => minute.domainsLastSeen)),
          },
        ],
        thresholds: [
          { label: 'U threshold (volume rule)', className: 'volume', value: thresholds.minUnregistered },
          { label: 'D threshold', className: 'distinct', value: thresholds.minDistinctDomains },
          {
            label: 'U threshold (distinct rule)',
            className: 'with-distinct',
            value: thresholds.minUnregisteredWithDistinct,
          },
        ],
      }),
    ),
    h(
      'details',
      null,
      h('summary', null, 'The numbers per minute'),
      h(
        'table',
        null,
        h('caption', null, `Window ${span}`),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Minute (UTC)', 'U', 'F', 'T', 'Domains last seen'].map((label) =>
              h('th', { scope: 'col' }, label),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          minutes
            .filter((minute) => minute.total > 0)
            .map((minute) =>
              h(
                'tr',
                null,
                h('td', null, clock(minute.at)),
                h('td', { class: 'number' }, minute.unregistered),
                h('td', { class: 'number' }, minute.forwarded),
                h('td', { class: 'number' }, minute.total),
                h('td', { class: 'number' }, minute.domainsLastSeen),
              ),
            ),
        ),
      ),
    ),
  ];
}
