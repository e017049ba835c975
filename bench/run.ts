// `npm run bench`: every benchmark, one after the other, with progress on stderr and one table on stdout.
// `--quick` runs each briefly (the test suite does, to keep them working); `--only` picks some by id;
// `--json FILE` writes the figures for tools. Exit code 0 even when a target is missed: the table says so.
import { writeFileSync } from 'node:fs';
import { stderr, stdout } from 'node:process';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { renderTable } from '../services/cli/table.js';
import { backtestBenchmark } from './backtest.js';
import { blockLatencyBenchmark } from './block-latency.js';
import { coreBenchmark } from './core.js';
import { decisionAuthBenchmark } from './decision-auth.js';
import { endOfMessageBenchmark } from './end-of-message.js';
import { enforcerCatchUpBenchmark } from './enforcer-catch-up.js';
import type { Benchmark, Figure, Progress } from './harness.js';
import { hotTenantBenchmark } from './hot-tenant.js';
import { memoryBenchmark } from './memory.js';
import { policyBenchmark } from './policy.js';
import { scorerClusterBenchmark } from './scorer-cluster.js';
import { scorerKafkaBenchmark } from './scorer-kafka.js';
import { scorerRedisBenchmark } from './scorer-redis.js';
import { spoolBenchmark } from './spool.js';
import { subscriberBenchmark } from './subscriber.js';

const BENCHMARKS: readonly Benchmark[] = [
  scorerRedisBenchmark,
  scorerClusterBenchmark,
  scorerKafkaBenchmark,
  coreBenchmark,
  policyBenchmark,
  blockLatencyBenchmark,
  memoryBenchmark,
  backtestBenchmark,
  decisionAuthBenchmark,
  subscriberBenchmark,
  enforcerCatchUpBenchmark,
  spoolBenchmark,
  endOfMessageBenchmark,
  hotTenantBenchmark,
];

interface Options {
  readonly quick: boolean;
  readonly only?: string[];
  readonly json?: string;
}

function progressBar(title: string): { progress: Progress; stop(): void } {
  const bar = new SingleBar({
    format: `${title.padEnd(18)} [{bar}] {value}/{total} {phase}`,
    stream: stderr,
    hideCursor: true,
    clearOnComplete: false,
  });
  let started = false;
  return {
    progress: {
      phase(label, total) {
        if (started) bar.stop();
        bar.start(total, 0, { phase: label });
        started = true;
      },
      tick(steps = 1) {
        bar.increment(steps);
      },
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function verdict(met: boolean | null): string {
  return met === null ? '' : met ? 'met' : 'MISSED';
}

async function main(options: Options): Promise<void> {
  const ids = new Set(BENCHMARKS.map((b) => b.id));
  for (const id of options.only ?? []) {
    if (!ids.has(id))
      throw new Error(`--only: no benchmark "${id}"; the benchmarks are ${[...ids].join(', ')}`);
  }
  const chosen = BENCHMARKS.filter((b) => !options.only || options.only.includes(b.id));
  const results: Figure[] = [];
  const failures: string[] = [];
  for (const benchmark of chosen) {
    const { progress, stop } = progressBar(benchmark.title);
    try {
      results.push(...(await benchmark.run({ quick: options.quick, progress })));
    } catch (error) {
      failures.push(`${benchmark.title}: ${(error as Error).stack ?? String(error)}`);
    } finally {
      stop();
    }
  }
  stdout.write(
    `${renderTable(
      ['benchmark', 'measure', 'value', 'target', 'verdict'],
      results.map((f) => [f.benchmark, f.measure, f.value, f.target, verdict(f.met)]),
    )}\n`,
  );
  if (options.json)
    writeFileSync(options.json, `${JSON.stringify({ quick: options.quick, results }, null, 2)}\n`);
  if (failures.length > 0) {
    stderr.write(`\n${failures.length} benchmark(s) failed:\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

const program = new Command('bench')
  .description('relayguard benchmarks: one table of figures against their targets')
  .option('--quick', 'run each benchmark briefly (keeps them working; the numbers mean nothing)', false)
  .option('--only <ids...>', 'run only these benchmarks')
  .option('--json <file>', 'also write the figures as JSON to this file')
  .action((options: Options) => main(options));

await program.parseAsync();
