// Benchmark 10: END-OF-MESSAGE latency with the enforcer's spool against waiting for the broker. Two enforcers on
// the production adapters (the real Apache Kafka broker, acks=all, idempotent; the Schema Registry double), one
// with RELAYGUARD_SPOOL_DIR on a temporary directory (the answer waits for the local write and its fdatasync,
// shared by the sessions that arrive together), one without (the answer waits for the broker's acknowledgement).
// A relay fleet of CONNECTIONS policy connections, each waiting for its reply before the next request, as
// Postfix's smtpd processes do; latency from write to reply at the client. Rounds alternate between the two so
// load from elsewhere on the machine hits both alike.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProductionStack } from '../test/support/production-stack.js';
import { CONNECTIONS, startRelayFleet } from '../test/support/relay-fleet.js';
import { defineBenchmark, format, median, percentile, withCleanups } from './harness.js';

const SIZES = {
  quick: { rounds: 2, roundMs: 300 },
  measured: { rounds: 10, roundMs: 2_000 },
};

export const spoolBenchmark = defineBenchmark({
  id: 'spool',
  title: '10 END-OF-MESSAGE spool',
  sizes: SIZES,
  async run({ sizes: { rounds, roundMs }, progress, figure }) {
    const spooled: number[] = [];
    const waiting: number[] = [];
    await withCleanups(async (defer) => {
      progress.phase('starting Kafka, registry, two enforcers', 1);
      const stack = await startProductionStack();
      defer(() => stack.stop());
      const directory = await mkdtemp(join(tmpdir(), 'relayguard-bench-spool-'));
      defer(() => rm(directory, { recursive: true, force: true }));
      const withSpool = await startRelayFleet(stack.env, directory, defer);
      const withoutSpool = await startRelayFleet(stack.env, undefined, defer);
      // Warm-up: producer connections, schema ids, the first fsyncs.
      await withSpool.round(500, []);
      await withoutSpool.round(500, []);
      progress.phase('alternating rounds', rounds * 2);
      for (let round = 0; round < rounds; round++) {
        await withSpool.round(roundMs, spooled);
        progress.tick();
        await withoutSpool.round(roundMs, waiting);
        progress.tick();
      }
    });
    const seconds = (rounds * roundMs) / 1000;
    return [
      figure(`spool (fdatasync), ${CONNECTIONS} relay connections: p50`, median(spooled), format.ms),
      figure('spool: p99', percentile(spooled, 99), format.ms),
      figure('spool: END-OF-MESSAGE answered', spooled.length / seconds, format.rate),
      figure('waiting for Kafka acks=all: p50', median(waiting), format.ms),
      figure('waiting for Kafka: p99', percentile(waiting, 99), format.ms),
      figure('waiting for Kafka: END-OF-MESSAGE answered', waiting.length / seconds, format.rate),
    ];
  },
});
