// A fuzz harness on fast-check: each target gets generated (and shrunk) inputs and must answer every one with a
// correct answer or a clear error. Anything else fails the run: an unexpected exception (a crash), a wrong
// answer (the target's own check throws FuzzViolation), a case slower than the hang limit, or a heap that keeps
// what it was given (measured after a forced collection).
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';

/** A wrong answer, as opposed to a crash: the target's check found an answer that breaks its contract. */
export class FuzzViolation extends Error {
  override readonly name = 'FuzzViolation';
}

export function violation(condition: unknown, message: string): asserts condition {
  if (!condition) throw new FuzzViolation(message);
}

export interface FuzzTarget<T> {
  readonly name: string;
  /** Cases in the quick run; the runner multiplies them by its scale. */
  readonly cases: number;
  readonly arbitrary: fc.Arbitrary<T>;
  /**
   * Runs one case and names its outcome (`answer`, or the error code of a clear rejection). Throws FuzzViolation
   * for a wrong answer; any other exception is a crash.
   */
  check(input: T): string | Promise<string>;
  /** Heap growth over the whole target above this is a leak. Default 16 MiB. */
  readonly maxHeapGrowthBytes?: number;
  /** Released after the run (servers, stores). */
  close?(): Promise<void>;
}

export interface FuzzResult {
  readonly target: string;
  readonly cases: number;
  /** Cases by outcome, e.g. { answer: 812, INVALID_DOMAIN: 188 }. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly slowestMs: number;
  readonly heapGrowthBytes: number;
  readonly seconds: number;
  /** Null when the target passed; otherwise what failed, with the shrunk counterexample. */
  readonly failure: string | null;
}

export interface RunOptions {
  readonly scale?: number;
  readonly seed?: number;
  /** A single case slower than this counts as a hang. */
  readonly hangMs?: number;
}

// The harness measures retained heap, which needs a forced collection; node:test gives no way to pass
// --expose-gc to a test file, so the flag is set at run time and `gc` fetched from a fresh context.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function heapAfterCollection(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

export async function runTarget<T>(target: FuzzTarget<T>, options: RunOptions = {}): Promise<FuzzResult> {
  const { scale = 1, seed = 20261128, hangMs = 5_000 } = options;
  const numRuns = Math.max(1, Math.round(target.cases * scale));
  const outcomes: Record<string, number> = {};
  let cases = 0;
  let slowestMs = 0;
  const started = performance.now();
  const heapBefore = heapAfterCollection();
  const details = await fc.check(
    fc.asyncProperty(target.arbitrary, async (input) => {
      const t0 = performance.now();
      const outcome = await target.check(input);
      const ms = performance.now() - t0;
      slowestMs = Math.max(slowestMs, ms);
      violation(ms <= hangMs, `hang: one case took ${ms.toFixed(0)} ms (limit ${hangMs} ms)`);
      cases++;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }),
    { numRuns, seed, endOnFailure: false },
  );
  const heapGrowthBytes = heapAfterCollection() - heapBefore;
  await target.close?.();
  let failure: string | null = null;
  if (details.failed) {
    const error = details.errorInstance;
    const kind = error instanceof FuzzViolation ? 'wrong answer' : 'crash';
    failure = `${kind}: ${error instanceof Error ? error.message : String(error)}; input ${fc.stringify(details.counterexample?.[0]).slice(0, 300)}`;
  } else if (heapGrowthBytes > (target.maxHeapGrowthBytes ?? 16 * 1024 * 1024)) {
    failure = `leak: the heap grew by ${(heapGrowthBytes / 1024 / 1024).toFixed(1)} MiB over the run`;
  }
  return {
    target: target.name,
    cases,
    outcomes,
    slowestMs,
    heapGrowthBytes,
    seconds: (performance.now() - started) / 1000,
    failure,
  };
}

export function formatOutcomes(outcomes: Readonly<Record<string, number>>): string {
  return Object.entries(outcomes)
    .sort(([, a], [, b]) => b - a)
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(', ');
}
