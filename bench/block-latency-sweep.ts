// Benchmark 5 against the fetch waits, on the real Apache Kafka broker: block latency p50/p99 with
// KAFKA_FETCH_MAX_WAIT_MS (the scorer's fetch of message-submitted) and KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS (the
// enforcer's directory feed of tenant-blocks) set to each setting in turn, in alternating rounds on one broker so
// a burst of load from elsewhere hits every setting alike; the medians of the rounds are reported, with the CPU the
// idle pipeline (scorer, directory feed, enforcer, in this process) spends per second on its empty fetches. The
// scorer's commit interval is not on the path: a block is published with the batch that decided it, the windows
// are flushed later.
//
//   npx tsx bench/block-latency-sweep.ts [--rounds 3] [--runs 40] [--settings 1000/100,250/100,...]
import { setTimeout as sleep } from 'node:timers/promises';
import { testKafkaVersion } from '../test/support/kafka-broker.js';
import { startProductionPipeline } from '../test/support/pipeline-driver.js';
import { startProductionStack } from '../test/support/production-stack.js';
import { blockPipeline, measureBlockLatency } from './block-latency.js';
import { commandLine, format, median, percentile, withCleanups } from './harness.js';

const IDLE_MS = 5_000;

const options = commandLine({ rounds: 3, runs: 40, settings: '1000/100,250/100,50/100,1000/20' });
const { rounds, runs } = options;
const settings = options.settings.split(',').map((pair) => {
  const [fetch, directory] = pair.split('/').map(Number);
  if (!fetch || !directory) throw new Error(`--settings: "${pair}" is not <fetch ms>/<directory ms>`);
  return { fetch, directory, p50: [] as number[], p99: [] as number[], cpu: [] as number[] };
});

await withCleanups(async (defer) => {
  const stack = await startProductionStack();
  defer(() => stack.stop());
  let first = 0;
  for (let round = 0; round < rounds; round++) {
    for (const setting of settings) {
      const latencies = await withCleanups(async (deferRound) => {
        const pipeline = await startProductionPipeline(stack, {
          RELAYGUARD_LOG_LEVEL: 'silent',
          KAFKA_FETCH_MAX_WAIT_MS: String(setting.fetch),
          KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS: String(setting.directory),
        });
        deferRound(() => pipeline.stop());
        const measured = await measureBlockLatency(blockPipeline(pipeline), runs, () => {}, first);
        // What a shorter wait costs: the idle pipeline's fetches, CPU ms per second of nothing to do.
        const cpu = process.cpuUsage();
        const started = performance.now();
        await sleep(IDLE_MS);
        const used = process.cpuUsage(cpu);
        setting.cpu.push((used.user + used.system) / 1000 / ((performance.now() - started) / 1000));
        return measured;
      });
      first += runs;
      setting.p50.push(median(latencies));
      setting.p99.push(percentile(latencies, 99));
      process.stderr.write(
        `round ${round + 1} ${setting.fetch}/${setting.directory}: p50 ${format.ms(median(latencies))} p99 ${format.ms(percentile(latencies, 99))}\n`,
      );
    }
  }
});

process.stdout.write(
  `Apache Kafka ${testKafkaVersion()}, ${rounds} alternating rounds of ${runs} runs per setting (medians of the rounds)\n`,
);
process.stdout.write(
  '| KAFKA_FETCH_MAX_WAIT_MS | KAFKA_DIRECTORY_FETCH_MAX_WAIT_MS | p50 | p99 | idle CPU ms per s |\n',
);
process.stdout.write('|---|---|---|---|---|\n');
for (const s of settings) {
  process.stdout.write(
    `| ${s.fetch} | ${s.directory} | ${format.ms(median(s.p50))} | ${format.ms(median(s.p99))} | ${median(s.cpu).toFixed(1)} |\n`,
  );
}
