// What every fault row run by the test suite asserts: the run equals the uninterrupted reference exactly.
import assert from 'node:assert/strict';
import { chaosTable, type ScenarioResult } from './scenarios.js';

/** Nothing lost, nothing counted twice, no wrong decision, no lifted block re-imposed, on a workload that blocks. */
export function assertExactRun(t: { diagnostic(message: string): void }, result: ScenarioResult): void {
  t.diagnostic(`\n${chaosTable([result])}`);
  assert.equal(result.sent, result.expected, 'every event sent is in the reference');
  assert.deepEqual(
    {
      lost: result.lost,
      duplicates: result.duplicates,
      decisionsWrong: result.decisionsWrong,
      windowsDiffering: result.windowsDiffering,
      liftedReimposed: result.liftedReimposed,
    },
    { lost: 0, duplicates: 0, decisionsWrong: 0, windowsDiffering: 0, liftedReimposed: 0 },
    result.details.join('\n'),
  );
  assert.ok(result.blocksExpected > 0, 'the workload makes block decisions to compare');
}
