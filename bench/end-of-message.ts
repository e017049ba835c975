// Benchmark 11: the END-OF-MESSAGE path against the ceiling of this machine. 50 connections, each waiting for its
// reply as Postfix's smtpd does, from the load generator of benchmark 4 (bench/policy-load.ts, its own process).
// Saturation rounds alternate between
//   - a no-op Node.js policy server (node:net, answers DUNNO to each request as soon as its empty line is read):
//     the most any policy server in Node.js can answer here;
//   - relayguard embedded as `npm start` runs it (scorer, enforcer and the directory feed in one process, the
//     memory event log): END-OF-MESSAGE for accepted messages, each answered once its MessageSubmitted is in the
//     log; the scorer consumes them meanwhile, and is let finish its backlog before the next round.
// Then rounds at the same saturation on the production adapters against the real Apache Kafka broker (acks=all,
// idempotent producer; Schema Registry double): the enforcer alone, as `relayguard enforcer` runs, alternating
// with the no-op server again.
import { closeAdapters, embeddedAdapters, productionAdapters } from '../services/app/adapters.js';
import { startRuntime } from '../services/app/runtime.js';
import { Topics } from '../services/core/topics.js';
import { systemClock } from '../services/platform/clock.js';
import { loadConfig } from '../services/platform/config.js';
import { silentLogger } from '../services/platform/logger.js';
import { startLoopbackPolicyServer } from '../test/support/loopback-policy-server.js';
import { startProductionStack } from '../test/support/production-stack.js';
import { startSpoolingEnforcer } from '../test/support/relay-fleet.js';
import { atLeast, atMost, defineBenchmark, format, median, withCleanups } from './harness.js';
import { type LoadOptions, type LoadResult, load, startNoopServer } from './policy-load.js';
import { tenantChanges, tenantId, tenantRange } from './workload.js';

const SIZES = {
  quick: { rounds: 1, durationMs: 500 },
  measured: { rounds: 3, durationMs: 3_000 },
};

const CONNECTIONS = 50;
const TENANTS = 1_000;

/** relayguard embedded, its directory holding TENANTS tenants (as the admin service would have written them). */
async function startEmbedded(defer: (fn: () => unknown) => void) {
  const config = loadConfig({ RELAYGUARD_LOG_LEVEL: 'silent' });
  const adapters = embeddedAdapters(config, systemClock);
  for (let i = 0; i < TENANTS; i++) {
    for (const change of tenantChanges(i)) {
      const topic = change.kind === 'connector' ? Topics.connectors : Topics.acceptedDomains;
      const value = await adapters.codec.encode(topic, change.event as never);
      await adapters.log.publish(topic, [{ key: tenantId(i), value }]);
    }
  }
  const runtime = await startRuntime(config, {
    services: ['scorer', 'enforcer'],
    logger: silentLogger,
    adapters,
  });
  defer(() => runtime.stop());
  await runtime.ready;
  const server = await startLoopbackPolicyServer(runtime.enforcer!, runtime.metrics);
  defer(() => server.close());
  return { port: server.port, settled: () => adapters.log.settled() };
}

/** The enforcer alone on the production adapters of `stackEnv` (the real broker), behind its policy server. */
async function startOnKafka(stackEnv: Readonly<Record<string, string>>, defer: (fn: () => unknown) => void) {
  const adapters = productionAdapters(
    loadConfig({ ...stackEnv, RELAYGUARD_LOG_LEVEL: 'silent' }),
    silentLogger,
  );
  defer(() => closeAdapters(adapters));
  const tenants = Array.from({ length: TENANTS }, (_, i) => ({
    tenantId: tenantId(i),
    range: tenantRange(i),
  }));
  const { port } = await startSpoolingEnforcer(
    { log: adapters.log, codec: adapters.codec, spool: undefined, tenants, connections: 0 },
    defer,
  );
  return { port };
}

export const endOfMessageBenchmark = defineBenchmark({
  id: 'eom',
  title: '11 END-OF-MESSAGE',
  sizes: SIZES,
  async run({ sizes: { rounds, durationMs }, progress, figure }) {
    const common = { host: '127.0.0.1', connections: CONNECTIONS, durationMs, tenants: TENANTS, blocked: 0 };
    const saturate = (port: number, stage: LoadOptions['stage'], queueIdPrefix = '') =>
      load({ ...common, port, mode: 'saturate', stage, queueIdPrefix });
    // Each round saturates the no-op server, then relayguard: load from elsewhere on the machine hits both alike.
    const embedded = { noop: [] as LoadResult[], relayguard: [] as LoadResult[] };
    const kafka = { noop: [] as LoadResult[], relayguard: [] as LoadResult[] };
    await withCleanups(async (defer) => {
      progress.phase('starting the no-op server and relayguard embedded', 1);
      const noopServer = await startNoopServer();
      defer(() => noopServer.close());
      const saturationRounds = async (
        side: string,
        queueIdPrefix: string,
        results: typeof embedded,
        relayguard: { port: number; settled?: () => Promise<void> },
      ) => {
        progress.phase(`saturation rounds: no-op, then relayguard ${side}`, rounds * 2);
        for (let round = 0; round < rounds; round++) {
          results.noop.push(await saturate(noopServer.port, 'END-OF-MESSAGE'));
          progress.tick();
          results.relayguard.push(
            await saturate(relayguard.port, 'END-OF-MESSAGE', `${queueIdPrefix}${round}x`),
          );
          // The scorer's backlog is its own work, not the next round's.
          await relayguard.settled?.();
          progress.tick();
        }
      };
      const relayguard = await startEmbedded(defer);
      progress.tick();
      await saturationRounds('embedded', 'E', embedded, relayguard);
      progress.phase('starting Kafka, registry, the enforcer on them', 1);
      const stack = await startProductionStack();
      defer(() => stack.stop());
      const onKafka = await startOnKafka(stack.env, defer);
      // Warm-up: the producer's connection, its producer id and the schema id take the first seconds.
      await load({
        ...common,
        durationMs: 5_000,
        port: onKafka.port,
        mode: 'saturate',
        stage: 'END-OF-MESSAGE',
        queueIdPrefix: 'W',
      });
      progress.tick();
      await saturationRounds('on Kafka', 'K', kafka, onKafka);
    });
    const of = (results: LoadResult[], key: 'rate' | 'p50Ms' | 'p99Ms') => median(results.map((r) => r[key]));
    const share = (results: LoadResult[], ceiling: LoadResult[]) =>
      median(results.map((result, i) => result.rate / ceiling[i]!.rate));
    return [
      figure(
        `no-op policy server, ${CONNECTIONS} connections (median)`,
        of(embedded.noop, 'rate'),
        format.rate,
      ),
      figure('embedded END-OF-MESSAGE answered (median)', of(embedded.relayguard, 'rate'), format.rate),
      figure(
        'embedded ÷ no-op, per round (median)',
        share(embedded.relayguard, embedded.noop),
        format.percent,
        atLeast(0.25, '25%'),
      ),
      figure(
        'embedded END-OF-MESSAGE p50 (median)',
        of(embedded.relayguard, 'p50Ms'),
        format.ms,
        atMost(2, `2 ms at ${CONNECTIONS} connections`),
      ),
      figure('embedded END-OF-MESSAGE p99 (median)', of(embedded.relayguard, 'p99Ms'), format.ms),
      figure('Kafka acks=all: END-OF-MESSAGE answered (median)', of(kafka.relayguard, 'rate'), format.rate),
      figure('Kafka ÷ no-op, per round (median)', share(kafka.relayguard, kafka.noop), format.percent),
      figure('Kafka acks=all: p50 (median)', of(kafka.relayguard, 'p50Ms'), format.ms),
      figure('Kafka acks=all: p99 (median)', of(kafka.relayguard, 'p99Ms'), format.ms),
    ];
  },
});
