// What every benchmark shares: the figures it reports (each against its target), progress, and the statistics.
// Figures under noise: a benchmark that compares two things alternates their rounds in one run and reports the
// medians, so a burst of load from elsewhere on the machine hits both sides alike.
import { parseArgs } from 'node:util';
import { cleanupStack } from '../test/support/tether.js';

export interface Figure {
  /** Which benchmark, as in the table: "1 scorer/redis". */
  readonly benchmark: string;
  readonly measure: string;
  /** The figure as printed (with its unit). */
  readonly value: string;
  /** The raw number, for --json. */
  readonly raw: number;
  /** The target as written in the issue, or '' for a figure reported for context. */
  readonly target: string;
  /** Whether the target is met; null when the figure has no target (or --quick made it meaningless). */
  readonly met: boolean | null;
}

export interface Progress {
  /** Starts (or restarts) the bar for a phase of `total` steps. */
  phase(label: string, total: number): void;
  tick(steps?: number): void;
}

export interface BenchContext {
  /** Each benchmark briefly: keeps them working, the numbers mean nothing. */
  readonly quick: boolean;
  readonly progress: Progress;
}

export interface Benchmark {
  readonly id: string;
  readonly title: string;
  run(context: BenchContext): Promise<Figure[]>;
}

export interface Target {
  readonly text: string;
  readonly met: (n: number) => boolean;
}

/** The figure must be at least `min`; the table shows "≥ shown". */
export function atLeast(min: number, shown: string): Target {
  return { text: `≥ ${shown}`, met: (n) => n >= min };
}

/** The figure must be at most `max`; the table shows "≤ shown". */
export function atMost(max: number, shown: string): Target {
  return { text: `≤ ${shown}`, met: (n) => n <= max };
}

/** Builds one row of the table: a measure, its raw number, how to print it and, if it has one, its target. */
export type FigureOf = (
  measure: string,
  raw: number,
  format: (n: number) => string,
  target?: Target,
) => Figure;

/** A figure builder bound to one benchmark; in quick mode no target is judged. */
export function figures(benchmark: string, quick: boolean): FigureOf {
  return (measure, raw, format, target) => ({
    benchmark,
    measure,
    value: format(raw),
    raw,
    target: target?.text ?? '',
    met: target && !quick ? target.met(raw) : null,
  });
}

/** What a benchmark defined by `defineBenchmark` runs with. */
export interface SizedContext<Sizes> extends BenchContext {
  /** The sizes for this run: `quick` under --quick, `measured` otherwise. */
  readonly sizes: Sizes;
  /** Figures under the benchmark's title. */
  readonly figure: FigureOf;
}

/**
 * A benchmark whose sizes are data beside its name: the brief ones --quick runs (to keep it working) and the ones
 * it is measured at, so the two can be read side by side.
 */
export function defineBenchmark<Sizes>(definition: {
  readonly id: string;
  readonly title: string;
  readonly sizes: { readonly quick: Sizes; readonly measured: Sizes };
  run(context: SizedContext<Sizes>): Promise<Figure[]>;
}): Benchmark {
  const { id, title, sizes } = definition;
  return {
    id,
    title,
    run: (context) =>
      definition.run({
        ...context,
        sizes: context.quick ? sizes.quick : sizes.measured,
        figure: figures(title, context.quick),
      }),
  };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export const format = {
  rate: (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`,
  ratio: (n: number) => `${n.toFixed(1)}×`,
  ms: (n: number) => `${n < 10 ? n.toFixed(3) : n.toFixed(0)} ms`,
  bytes: (n: number) =>
    n >= 1_073_741_824
      ? `${(n / 1_073_741_824).toFixed(2)} GiB`
      : n >= 1_048_576
        ? `${(n / 1_048_576).toFixed(1)} MiB`
        : n >= 1024
          ? `${(n / 1024).toFixed(2)} KiB`
          : `${Math.round(n)} B`,
  fixed: (digits: number) => (n: number) => n.toFixed(digits),
  count: (n: number) => Math.round(n).toLocaleString('en-US'),
  percent: (n: number) => `${(n * 100).toFixed(1)}%`,
};

export interface Spent {
  /** Wall-clock milliseconds. */
  readonly wallMs: number;
  /**
   * CPU milliseconds of this process (user + system, every thread). On a machine shared with other work the
   * wall clock measures the neighbours too; CPU time measures only what this process did.
   */
  readonly cpuMs: number;
}

/** Runs `work` and returns the wall-clock and CPU time it took. */
export async function timed(work: () => Promise<unknown> | unknown): Promise<Spent> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Runs `body` with a `defer` that registers cleanups, run last in first out when the body ends or throws:
 * clients must disconnect before the servers they talk to stop (see cleanupStack).
 */
export async function withCleanups<T>(body: (defer: (fn: () => unknown) => void) => Promise<T>): Promise<T> {
  let cleanup: () => unknown = () => undefined;
  const defer = cleanupStack({
    after: (fn) => {
      cleanup = fn;
    },
  });
  try {
    return await body(defer);
  } finally {
    await cleanup();
  }
}

/**
 * The command-line options of a benchmark run on its own (`--name value`), each with its default: a number where
 * the default is one. An option not named here stops the run, as parseArgs does.
 */
export function commandLine<T extends Record<string, number | string>>(
  defaults: T,
): { [K in keyof T]: T[K] extends number ? number : string } {
  const names = Object.keys(defaults);
  const { values } = parseArgs({
    options: Object.fromEntries(names.map((name) => [name, { type: 'string' }])),
  });
  return Object.fromEntries(
    names.map((name) => {
      const given = values[name];
      const fallback = defaults[name]!;
      return [name, given === undefined ? fallback : typeof fallback === 'number' ? Number(given) : given];
    }),
  ) as { [K in keyof T]: T[K] extends number ? number : string };
}
