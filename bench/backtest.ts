// Benchmark 7: the backtest on one core. JSON lines (the `backtest --events` format) decoded and folded through
// the policy in force, and through it plus two candidates, in the batches the command uses; 10,000 tenants.
// The target: a day of traffic for 10,000 tenants (tens of millions of events) in minutes on one core.
import { Backtest, type NamedPolicy } from '../services/backtest/engine.js';
import { decodeEventLine, encodeEventLine } from '../services/backtest/event-lines.js';
import { IN_FORCE, parsePolicySpec } from '../services/backtest/policies.js';
import type { MessageSubmitted } from '../services/core/contracts.generated.js';
import { DEFAULT_POLICY } from '../services/core/policy.js';
import { atLeast, defineBenchmark, format, median, timed } from './harness.js';
import { fleetDirectory, fleetEvents } from './workload.js';

const SIZES = {
  quick: { tenants: 1_000, perRound: 20_000, rounds: 1 },
  measured: { tenants: 10_000, perRound: 600_000, rounds: 5 },
};

const BATCH = 200_000;

function backtestLines(
  lines: readonly string[],
  directory: ReturnType<typeof fleetDirectory>,
  policies: NamedPolicy[],
) {
  const backtest = new Backtest(directory, policies);
  let batch: MessageSubmitted[] = [];
  for (const line of lines) {
    batch.push(decodeEventLine(line)!);
    if (batch.length === BATCH) {
      backtest.addBatch(batch);
      batch = [];
    }
  }
  backtest.addBatch(batch);
  return backtest.report();
}

export const backtestBenchmark = defineBenchmark({
  id: 'backtest',
  title: '7 backtest',
  sizes: SIZES,
  async run({ sizes: { tenants, perRound, rounds }, progress, figure }) {
    const directory = fleetDirectory(tenants);
    progress.phase('encoding events', 1);
    const lines = fleetEvents(tenants, perRound).map(encodeEventLine);
    progress.tick();
    const inForce: NamedPolicy = { name: IN_FORCE, policy: DEFAULT_POLICY };
    const candidates = [
      parsePolicySpec(DEFAULT_POLICY, 'strict:minUnregistered=250,minDistinctDomains=25', 0),
      parsePolicySpec(DEFAULT_POLICY, 'lenient:minUnregistered=1000', 1),
    ];

    // Rounds alternate one policy and three, so load from elsewhere hits both alike; the first pair warms up.
    progress.phase('backtesting', 2 * (rounds + 1));
    const one: number[] = [];
    const three: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      for (const [policies, rates] of [
        [[inForce], one],
        [[inForce, ...candidates], three],
      ] as const) {
        const spent = await timed(() => backtestLines(lines, directory, [...policies]));
        if (round > 0) rates.push(perRound / (spent.cpuMs / 1000));
        progress.tick();
      }
    }
    return [
      // "In minutes": a day of 10,000 tenants (about 30 million events) within 10 minutes of one core.
      figure(
        'events per CPU-second, policy in force, median',
        median(one),
        format.rate,
        atLeast(50_000, '50,000/s (30M events in 10 min)'),
      ),
      figure('events per CPU-second, in force + 2 candidates, median', median(three), format.rate),
    ];
  },
});
