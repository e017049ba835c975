// Benchmark 4: the Postfix policy server under load from 50 connections, side by side with Debian's postfwd
// answering the same requests with the equivalent rule (reject the spam domains for the blocked tenants'
// client ranges) and with a no-op Node.js policy server in this process (the ceiling and the scheduling floor of a
// Node.js server on this machine). Saturation rounds alternate the three servers; then rounds at 10,000 requests
// per second, alternating too, give the latency percentiles (medians of the rounds), relayguard's p99 against the
// no-op server's of the same round. The load generator (bench/policy-load.ts) runs in its own process.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BLOCK_REPLY } from '../services/core/decision.js';
import type { PolicyServer, PolicyServerOptions } from '../services/enforcer/postfix/server.js';
import { Metrics } from '../services/platform/metrics.js';
import { readyEnforcer } from '../test/support/enforcement.js';
import { startLoopbackPolicyServer } from '../test/support/loopback-policy-server.js';
import { atLeast, defineBenchmark, format, median } from './harness.js';
import {
  LOOP_DELAY_RESOLUTION_MS,
  type LoadOptions,
  type LoadResult,
  load,
  loopDelayMs,
  SPAM_DOMAINS,
  startNoopServer,
} from './policy-load.js';
import { startPostfwd } from './postfwd.js';
import { blockEvent, fleetDirectory, tenantRange } from './workload.js';

const SIZES = {
  quick: { tenants: 1_000, rounds: 1, durationMs: 500 },
  measured: { tenants: 10_000, rounds: 3, durationMs: 5_000 },
};

const CONNECTIONS = 50;
const RATE = 10_000;
const microseconds = (µs: number) => `${µs.toFixed(1)} µs`;

export interface Relayguard {
  readonly server: PolicyServer;
  /** Requests the server has answered so far (its own counter: the generator leaves its warm-up out). */
  answered(): Promise<number>;
}

/** Relayguard's policy server over `tenants` tenants, the first `blocked` of them blocked, on a loopback port. */
export async function startRelayguard(
  tenants: number,
  blocked: number,
  listen: Partial<Pick<PolicyServerOptions, 'port' | 'reusePort'>> = {},
): Promise<Relayguard> {
  const directory = fleetDirectory(tenants);
  for (let i = 0; i < blocked; i++) directory.apply({ kind: 'tenant-block', event: blockEvent(i) });
  const metrics = new Metrics({ processMetrics: false });
  const enforcer = readyEnforcer(directory, metrics);
  const server = await startLoopbackPolicyServer(enforcer, metrics, listen);
  const answered = async () =>
    (await metrics.policyRequests.get()).values.reduce((sum, { value }) => sum + value, 0);
  return { server, answered };
}

interface ServerSide {
  /** CPU (user + system) of this process, which runs only the server meanwhile, per request it answered. */
  readonly cpuPerRequestUs: number;
  readonly loopDelayP99Ms: number;
}

/** Runs the generator against relayguard and measures the server's side: its CPU and its event-loop delay. */
async function loadRelayguard(relayguard: Relayguard, options: LoadOptions) {
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  const before = await relayguard.answered();
  const cpu = process.cpuUsage();
  loopDelay.enable();
  const result = await load(options);
  loopDelay.disable();
  const used = process.cpuUsage(cpu);
  const answered = (await relayguard.answered()) - before;
  const server: ServerSide = {
    cpuPerRequestUs: (used.user + used.system) / answered,
    loopDelayP99Ms: loopDelayMs(loopDelay, 99),
  };
  return { result, server };
}

export const policyBenchmark = defineBenchmark({
  id: 'policy',
  title: '4 policy server',
  sizes: SIZES,
  async run({ sizes: { tenants, rounds, durationMs }, progress, figure }) {
    const blocked = tenants / 100;
    progress.phase('starting relayguard and postfwd', 1);
    const relayguard = await startRelayguard(tenants, blocked);
    const postfwd = await startPostfwd({
      clientRanges: Array.from({ length: blocked }, (_, i) => tenantRange(i)),
      senderDomains: SPAM_DOMAINS,
      reply: `${BLOCK_REPLY.code} ${BLOCK_REPLY.enhancedCode} ${BLOCK_REPLY.text}`,
    }).catch(async (error: unknown) => {
      await relayguard.server.close();
      throw error;
    });
    const noop = await startNoopServer();
    progress.tick();
    const common = { host: '127.0.0.1', connections: CONNECTIONS, durationMs, tenants, blocked };
    const port = relayguard.server.port;
    const saturation = {
      relayguard: [] as LoadResult[],
      noop: [] as LoadResult[],
      postfwd: [] as LoadResult[],
    };
    const serverCpuPerRequest: number[] = [];
    const steady = {
      relayguard: [] as LoadResult[],
      server: [] as ServerSide[],
      noop: [] as LoadResult[],
      postfwd: [] as LoadResult[],
    };
    try {
      progress.phase('saturation rounds, then rounds at 10,000/s: relayguard, no-op, postfwd', rounds * 6);
      for (let round = 0; round < rounds; round++) {
        // The server runs in this process, which does nothing else meanwhile: its CPU time is the server's.
        const { result, server } = await loadRelayguard(relayguard, { ...common, port, mode: 'saturate' });
        saturation.relayguard.push(result);
        serverCpuPerRequest.push(server.cpuPerRequestUs);
        progress.tick();
        saturation.noop.push(await load({ ...common, port: noop.port, mode: 'saturate' }));
        progress.tick();
        saturation.postfwd.push(await load({ ...common, port: postfwd.port, mode: 'saturate' }));
        progress.tick();
      }
      // Percentiles over a few seconds swing with the neighbours' load: rounds alternate, and medians are reported.
      for (let round = 0; round < rounds; round++) {
        const { result, server } = await loadRelayguard(relayguard, {
          ...common,
          port,
          mode: 'rate',
          rate: RATE,
        });
        steady.relayguard.push(result);
        steady.server.push(server);
        progress.tick();
        steady.noop.push(await load({ ...common, port: noop.port, mode: 'rate', rate: RATE }));
        progress.tick();
        steady.postfwd.push(await load({ ...common, port: postfwd.port, mode: 'rate', rate: RATE }));
        progress.tick();
      }
    } finally {
      await Promise.all([relayguard.server.close(), noop.close(), postfwd.stop()]);
    }
    const ratios = saturation.relayguard.map((result, i) => result.rate / saturation.postfwd[i]!.rate);
    const ofCeiling = saturation.relayguard.map((result, i) => result.rate / saturation.noop[i]!.rate);
    // The no-op server's p99 at the same rate in the same round: what scheduling alone costs on this machine.
    const p99Ratios = steady.relayguard.map((result, i) => result.p99Ms / steady.noop[i]!.p99Ms);
    const of = (results: LoadResult[], key: 'rate' | 'p50Ms' | 'p99Ms' | 'rejected') =>
      median(results.map((result) => result[key]));
    const generator = (key: keyof LoadResult['generator']) =>
      steady.relayguard.map((result) => result.generator[key]);
    const rateText = RATE.toLocaleString('en-US');
    return [
      figure(
        'relayguard saturation, 50 connections (median)',
        of(saturation.relayguard, 'rate'),
        format.rate,
      ),
      figure('postfwd saturation, 50 connections (median)', of(saturation.postfwd, 'rate'), format.rate),
      figure('no-op server saturation, 50 connections (median)', of(saturation.noop, 'rate'), format.rate),
      figure(
        'relayguard ÷ no-op saturation, per round (median)',
        median(ofCeiling),
        format.percent,
        atLeast(0.6, '60%'),
      ),
      figure(
        'relayguard ÷ postfwd saturation, per round (median)',
        median(ratios),
        format.ratio,
        atLeast(5, '5×'),
      ),
      figure(
        'relayguard server CPU per request, saturated (median)',
        median(serverCpuPerRequest),
        microseconds,
      ),
      figure(`relayguard at ${rateText}/s: achieved (median)`, of(steady.relayguard, 'rate'), format.rate),
      figure('relayguard p50 latency (median)', of(steady.relayguard, 'p50Ms'), format.ms),
      figure('relayguard p99 latency (median)', of(steady.relayguard, 'p99Ms'), format.ms),
      figure(`no-op server at ${rateText}/s: achieved (median)`, of(steady.noop, 'rate'), format.rate),
      figure(
        'no-op server p50 / p99 latency (medians)',
        of(steady.noop, 'p99Ms'),
        (ms) => `${format.ms(of(steady.noop, 'p50Ms'))} / ${format.ms(ms)}`,
      ),
      figure('relayguard p99 ÷ no-op p99 at 10,000/s, per round (median)', median(p99Ratios), format.ratio, {
        text: '≤ 1.5×',
        met: (ratio) => ratio <= 1.5 && of(steady.relayguard, 'rate') >= RATE * 0.95,
      }),
      figure(
        `relayguard server CPU per request at ${rateText}/s (median)`,
        median(steady.server.map((server) => server.cpuPerRequestUs)),
        microseconds,
      ),
      figure(
        `relayguard server event-loop delay p99 at ${rateText}/s (median)`,
        median(steady.server.map((server) => server.loopDelayP99Ms)),
        format.ms,
      ),
      figure(
        `load generator CPU per request at ${rateText}/s (median)`,
        median(generator('cpuPerRequestUs')),
        microseconds,
      ),
      figure(
        `load generator event-loop delay p99 at ${rateText}/s (median)`,
        median(generator('loopDelayP99Ms')),
        format.ms,
      ),
      figure(
        'load generator: requests written late against their schedule, p99 (median)',
        median(generator('sendLagP99Ms')),
        format.ms,
      ),
      figure(`postfwd at ${rateText}/s: achieved (median)`, of(steady.postfwd, 'rate'), format.rate),
      figure('postfwd p50 latency (median)', of(steady.postfwd, 'p50Ms'), format.ms),
      figure('postfwd p99 latency (median)', of(steady.postfwd, 'p99Ms'), format.ms),
      figure(
        'rejected share, relayguard / postfwd (median)',
        of(steady.relayguard, 'rejected'),
        (share) => `${format.percent(share)} / ${format.percent(of(steady.postfwd, 'rejected'))}`,
      ),
    ];
  },
});
