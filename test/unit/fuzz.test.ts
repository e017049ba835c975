// The quick fuzz run (over 100,000 generated cases, `npm run fuzz` prints the same table): every input the
// outside world can send relayguard gets a correct answer or a clear error — never a crash, a hang, a wrong
// answer or a heap that keeps growing.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fuzzTable, runTargets } from '../fuzz/report.js';
import { localTargets } from '../fuzz/targets.js';

it('fuzzes every parser and decoder: no crash, hang, wrong answer or leak in 100,000+ cases', async (t) => {
  const results = await runTargets(await localTargets());
  t.diagnostic(`\n${fuzzTable(results)}`);
  const cases = results.reduce((sum, r) => sum + r.cases, 0);
  assert.ok(cases >= 100_000, `${cases} cases`);
  assert.deepEqual(
    results.filter((r) => r.failure !== null).map((r) => `${r.target}: ${r.failure}`),
    [],
  );
});
