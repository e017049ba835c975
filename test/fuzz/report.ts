// Runs fuzz targets one after the other and renders the table the fuzz script and the test suite print.
import { renderTable } from '../../services/cli/table.js';
import { type FuzzResult, type FuzzTarget, formatOutcomes, type RunOptions, runTarget } from './harness.js';

export async function runTargets(
  targets: readonly FuzzTarget<unknown>[],
  options: RunOptions & { onResult?: (result: FuzzResult) => void } = {},
): Promise<FuzzResult[]> {
  const results: FuzzResult[] = [];
  for (const target of targets) {
    const result = await runTarget(target, options);
    options.onResult?.(result);
    results.push(result);
  }
  return results;
}

export function fuzzTable(results: readonly FuzzResult[]): string {
  const total = results.reduce((sum, r) => sum + r.cases, 0);
  const failed = results.filter((r) => r.failure !== null).length;
  return [
    renderTable(
      ['target', 'cases', 'outcomes', 'slowest case', 'heap growth', 'time', 'result'],
      results.map((r) => [
        r.target,
        String(r.cases),
        formatOutcomes(r.outcomes),
        `${r.slowestMs.toFixed(1)} ms`,
        `${(r.heapGrowthBytes / 1024 / 1024).toFixed(1)} MiB`,
        `${r.seconds.toFixed(1)} s`,
        r.failure === null ? 'ok' : 'FAILED',
      ]),
    ),
    '',
    `${total} cases in ${results.length} targets: ${failed === 0 ? 'no crash, no hang, no wrong answer, no leak' : `${failed} targets FAILED`}`,
    ...results.filter((r) => r.failure !== null).map((r) => `  ${r.target}: ${r.failure}`),
  ].join('\n');
}
