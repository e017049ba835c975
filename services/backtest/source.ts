// Where a backtest's events come from: a file of recorded events, Postfix mail logs, or the message-submitted
// topic of an event log. Every source is an async iterable of events; it hands them over in batches because an
// await per event would cost more than scoring it.
import type { ScoredEvent } from '../core/classify.js';
import type { BacktestReport } from './engine.js';

export interface TimeRange {
  /** Inclusive, epoch ms; null: from the beginning. */
  readonly from: number | null;
  /** Exclusive, epoch ms; null: to the end. */
  readonly to: number | null;
}

export function inTimeRange(range: TimeRange, at: number): boolean {
  return (range.from === null || at >= range.from) && (range.to === null || at < range.to);
}

export interface SourceProblem {
  readonly count: number;
  /** The first line (of the concatenated input) with this problem, when it is about a line. */
  readonly firstLine: number | null;
}

export interface SourceSummary {
  readonly description: string;
  /** Input that could not become events, by kind: counted and reported, never fatal. */
  readonly problems: Readonly<Record<string, SourceProblem>>;
  /** Facts particular to the source (lines read, unresolved clients, ...). */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface SourceProgress {
  readonly done: number;
  /** Null while unknown (standard input). */
  readonly total: number | null;
  readonly unit: 'bytes' | 'records';
}

export interface EventSource {
  readonly description: string;
  /** Events in log order for each tenant (a tenant's events must not be reordered). */
  batches(): AsyncIterable<readonly ScoredEvent[]>;
  progress(): SourceProgress;
  /** Complete once `batches()` is exhausted. */
  summary(): SourceSummary;
}

/** Counts problems by kind, remembering where each kind was first seen. */
export class ProblemCounter {
  readonly #problems = new Map<string, { count: number; firstLine: number | null }>();

  add(kind: string, line: number | null, count = 1): void {
    const entry = this.#problems.get(kind);
    if (entry) entry.count += count;
    else this.#problems.set(kind, { count, firstLine: line });
  }

  toJSON(): Record<string, SourceProblem> {
    return Object.fromEntries([...this.#problems].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/** What `relayguard backtest` reports: where the events came from, and what each policy would have done. */
export type BacktestResult = BacktestReport & { readonly source: SourceSummary };
