// `npm run fuzz [-- --scale 10 --seed 7]`: every fuzz target (test/fuzz/), a table of targets, cases and
// outcomes; exit 1 when any target crashed, hung, answered wrongly or leaked. Scale 1 is the quick run the test
// suite does (over 100,000 cases); a larger scale runs proportionally more.
import { parseArgs } from 'node:util';
import { fuzzTable, runTargets } from '../test/fuzz/report.js';
import { localTargets } from '../test/fuzz/targets.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: String(Date.now() % 1e9) },
  },
});
const scale = Number(values.scale);
const seed = Number(values.seed);
if (!(scale > 0) || !Number.isInteger(seed)) {
  process.stderr.write('usage: npm run fuzz -- [--scale <positive number>] [--seed <integer>]\n');
  process.exit(2);
}
process.stderr.write(`fuzzing at scale ${scale}, seed ${seed}\n`);
const results = await runTargets(await localTargets(), {
  scale,
  seed,
  onResult: (r) => process.stderr.write(`  ${r.target}: ${r.cases} cases, ${r.seconds.toFixed(1)} s\n`),
});
process.stdout.write(`${fuzzTable(results)}\n`);
process.exitCode = results.some((r) => r.failure !== null) ? 1 : 0;
