// Benchmark 8: what bearer-token authentication adds to a decision request. A relay asks POST /v1/decisions once
// per message, so the token check runs on the hot path: the decision API's own (`registerDecisionAuth`: the rate
// limit of requests without a valid token, one SHA-256 digest looked up among the configured tokens' digests, the
// role check, refusals counted). Rounds alternate two fastify servers that differ only in that check in front of
// the same constant route, and a third answers real decisions with the check, for scale; each side is timed in
// CPU time of a child process of its own (fastify's inject: no socket, so the figure is the server's work).
// Run directly, it serves one side alone so a profile holds nothing else:
// `node --cpu-prof --import tsx bench/decision-auth.ts side with-check 200000`, then bench/cpuprofile-summary.ts;
// or counts the heap one side allocates per request:
// `node --expose-gc --max-semi-space-size=256 --import tsx bench/decision-auth.ts alloc with-check`.
import { fork } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { decisionApi, registerDecisionAuth } from '../services/enforcer/decision-api.js';
import type { ApiToken } from '../services/platform/config.js';
import { createHttpServer, type HttpServer } from '../services/platform/http-server.js';
import { silentLogger } from '../services/platform/logger.js';
import { Metrics } from '../services/platform/metrics.js';
import { readyEnforcer } from '../test/support/enforcement.js';
import { atMost, defineBenchmark, median, timed } from './harness.js';
import { fleetDirectory, tenantAddress } from './workload.js';

const SIZES = {
  quick: { rounds: 2, requestsPerRound: 500 },
  measured: { rounds: 61, requestsPerRound: 2_000 },
};

const TENANTS = 1_000;
/** A deployment with a token per relay pool and a few people: every comparison runs against each. */
const TOKENS: readonly ApiToken[] = Array.from({ length: 20 }, (_, i) => ({
  token: `bench-token-${String(i).padStart(2, '0')}-0123456789abcdef`,
  role: i === 0 ? 'relay' : 'operator',
  tenantId: null,
}));
const HEADERS = { authorization: `Bearer ${TOKENS[0]!.token}`, 'content-type': 'application/json' };
/** The relay token's budget is counted on every request, as in production, and never spent here. */
const RELAY_LIMIT = Number.MAX_SAFE_INTEGER;
/** A server once ready (fastify instances are thenables: awaiting one waits for it to be ready). */
type Server = Awaited<HttpServer>;
const microseconds = (µs: number) => `${µs.toFixed(1)} µs`;

async function constantRoute(withAuth: boolean): Promise<Server> {
  const metrics = new Metrics({ processMetrics: false });
  const app = createHttpServer({ logger: silentLogger, metrics, isReady: () => true });
  await app.register(async (scope) => {
    if (withAuth)
      await registerDecisionAuth(scope, { metrics, tokens: TOKENS, rateLimitPerMinute: RELAY_LIMIT });
    scope.post('/v1/decisions', async () => ({ action: 'ACCEPT' }));
  });
  await app.ready();
  return app;
}

async function decisions(): Promise<Server> {
  const metrics = new Metrics({ processMetrics: false });
  const enforcer = readyEnforcer(fleetDirectory(TENANTS), metrics);
  const app = createHttpServer({ logger: silentLogger, metrics, isReady: () => true });
  await app.register(decisionApi, { enforcer, metrics, tokens: TOKENS, rateLimitPerMinute: RELAY_LIMIT });
  await app.ready();
  return app;
}

/** CPU microseconds per request for `count` requests, 50 in flight as from a pool of relay connections. */
async function cpuPerRequest(app: Server, count: number): Promise<number> {
  const send = (i: number) =>
    app.inject({
      method: 'POST',
      url: '/v1/decisions',
      headers: HEADERS,
      payload: { clientAddress: tenantAddress(i % TENANTS), sender: `x@spam${i % 7}.example` },
    });
  const spent = await timed(async () => {
    for (let i = 0; i < count; i += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, j) => send(i + j)));
      if (answers.some((answer) => answer.statusCode !== 200)) throw new Error('a request was refused');
    }
  });
  return (spent.cpuMs * 1000) / count;
}

interface Rounds {
  /** CPU µs per request of each side, one entry per round. */
  readonly without: number[];
  readonly withCheck: number[];
  readonly decided: number[];
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Runs in a process of its own with --expose-gc. Each side's round starts from a full collection, so it pays
 * for its own garbage: with rounds alternating in one heap, a round would collect what the round before it
 * left (the old generation especially), and that noise (±30 µs a request over rounds of 2,000) buried the few
 * µs measured. Short rounds, many of them, in an order that reverses each round, compared pair by pair.
 */
async function measureRounds(rounds: number, count: number, tick: () => void): Promise<Rounds> {
  if (!gc) throw new Error('run with node --expose-gc');
  const sides = await Promise.all([constantRoute(false), constantRoute(true), decisions()]);
  try {
    // Warm-up: JIT and fastify's first-request work out of the timed rounds.
    for (const app of sides) await cpuPerRequest(app, 4 * count);
    const spent: number[][] = [[], [], []];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1, 2] : [2, 1, 0];
      for (const side of order) {
        gc();
        spent[side]!.push(await cpuPerRequest(sides[side]!, count));
      }
      tick();
    }
    const [without, withCheck, decided] = spent as [number[], number[], number[]];
    return { without, withCheck, decided };
  } finally {
    await Promise.all(sides.map((app) => app.close()));
  }
}

type FromChild = { tick: true } | { rounds: Rounds };

/** The rounds in a child process (`--expose-gc`, a heap of their own), ticking the progress bar as they end. */
function roundsInChild(rounds: number, count: number, tick: () => void): Promise<Rounds> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['rounds', String(rounds), String(count)], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
    });
    let result: Rounds | undefined;
    child.on('message', (message: FromChild) => {
      if ('tick' in message) tick();
      else result = message.rounds;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      result ? resolve(result) : reject(new Error(`benchmark 8's child exited (${code ?? signal})`)),
    );
  });
}

export const decisionAuthBenchmark = defineBenchmark({
  id: 'decision-auth',
  title: '8 decision auth',
  sizes: SIZES,
  async run({ sizes: { rounds, requestsPerRound }, progress, figure }) {
    progress.phase('decision auth rounds', rounds);
    const { without, withCheck, decided } = await roundsInChild(rounds, requestsPerRound, () =>
      progress.tick(),
    );
    // Per round, the check's side against the side without it that ran beside it.
    const added = median(withCheck.map((µs, round) => µs - without[round]!));
    return [
      figure('CPU per request, constant route without the token check', median(without), microseconds),
      figure('CPU per request, constant route with the token check', median(withCheck), microseconds),
      figure('CPU per decision request (token check included)', median(decided), microseconds),
      figure(
        `added by the token check, median of ${rounds} paired rounds (${TOKENS.length} tokens)`,
        added,
        microseconds,
      ),
      figure(
        'token check share of a decision request',
        added / median(decided),
        (n) => `${(n * 100).toFixed(1)}%`,
        atMost(0.1, '10%'),
      ),
    ];
  },
});

const SIDES = {
  'without-check': () => constantRoute(false),
  'with-check': () => constantRoute(true),
  decisions,
} as const;

/**
 * Bytes of heap allocated per request: what no load on the machine changes. Run with a young generation large
 * enough that 1,000 requests allocate without a collection (`--max-semi-space-size=256`); a round during which
 * one ran anyway is left out.
 */
async function bytesPerRequest(app: Server): Promise<string> {
  if (!gc) throw new Error('run with node --expose-gc --max-semi-space-size=256');
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  // Entries arrive on a later turn of the event loop: wait for those of the collection just forced.
  const settled = () => new Promise((resolve) => setTimeout(resolve, 20));
  const bytes: number[] = [];
  for (let round = 0; round < 7; round++) {
    gc();
    await settled();
    const [before, heapBefore] = [collections, process.memoryUsage().heapUsed];
    await cpuPerRequest(app, 1_000);
    const heapAfter = process.memoryUsage().heapUsed;
    await settled();
    if (collections === before) bytes.push((heapAfter - heapBefore) / 1_000);
  }
  observer.disconnect();
  if (bytes.length === 0) throw new Error('a collection ran in every round: raise --max-semi-space-size');
  return `${Math.round(median(bytes))} B allocated per request (median of ${bytes.length} rounds of 1,000)`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [mode, first = '', second = ''] = process.argv.slice(2);
  if (mode === 'rounds') {
    const send = (message: FromChild) => process.send?.(message);
    send({ rounds: await measureRounds(Number(first), Number(second), () => send({ tick: true })) });
    process.disconnect?.();
  } else if ((mode === 'side' || mode === 'alloc') && first in SIDES) {
    const app = await SIDES[first as keyof typeof SIDES]();
    await cpuPerRequest(app, 4_000);
    if (mode === 'alloc') {
      console.log(`${first}: ${await bytesPerRequest(app)}`);
    } else {
      const count = Number(second || 200_000);
      const µs = await cpuPerRequest(app, count);
      console.log(
        `${first}: ${microseconds(µs)} CPU per request over ${count} requests (after 4,000 to warm up)`,
      );
    }
    await app.close();
  } else {
    throw new Error(
      `usage: side <${Object.keys(SIDES).join('|')}> [requests], alloc <side>, or rounds <rounds> <requests>`,
    );
  }
}
