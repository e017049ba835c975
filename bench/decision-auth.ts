// Benchmark 8: what bearer-token authentication adds to a decision request. A relay asks POST /v1/decisions once
// per message, so the token check runs on the hot path: the decision API's own (`registerDecisionAuth`: the rate
// limit of requests without a valid token, one SHA-256 digest looked up among the configured tokens' digests, the
// role check, refusals counted). Rounds alternate two fastify servers that differ only in that check in front of
// the same constant route, and a third answers real decisions with the check, for scale; each
// side is timed in CPU time of this process (fastify's inject: no socket, so the figure is the server's work).
// Run directly, it serves one side alone so a profile holds nothing else:
// `node --cpu-prof --import tsx bench/decision-auth.ts with-check 200000`, then bench/cpuprofile-summary.ts.
import { decisionApi, registerDecisionAuth } from '../services/enforcer/decision-api.js';
import type { ApiToken } from '../services/platform/config.js';
import { createHttpServer, type HttpServer } from '../services/platform/http-server.js';
import { silentLogger } from '../services/platform/logger.js';
import { Metrics } from '../services/platform/metrics.js';
import { readyEnforcer } from '../test/support/enforcement.js';
import { type Benchmark, figures, median, timed } from './harness.js';
import { fleetDirectory, tenantAddress } from './workload.js';

const TENANTS = 1_000;
/** A deployment with a token per relay pool and a few people: every comparison runs against each. */
const TOKENS: readonly ApiToken[] = Array.from({ length: 20 }, (_, i) => ({
  token: `bench-token-${String(i).padStart(2, '0')}-0123456789abcdef`,
  role: i === 0 ? 'relay' : 'operator',
  tenantId: null,
}));
const HEADERS = { authorization: `Bearer ${TOKENS[0]!.token}`, 'content-type': 'application/json' };
/** A server once ready (fastify instances are thenables: awaiting one waits for it to be ready). */
type Server = Awaited<HttpServer>;
const microseconds = (µs: number) => `${µs.toFixed(1)} µs`;

async function constantRoute(withAuth: boolean): Promise<Server> {
  const metrics = new Metrics({ processMetrics: false });
  const app = createHttpServer({ logger: silentLogger, metrics, isReady: () => true });
  await app.register(async (scope) => {
    if (withAuth) await registerDecisionAuth(scope, { metrics, tokens: TOKENS, rateLimitPerMinute: 600 });
    scope.post('/v1/decisions', async () => ({ action: 'ACCEPT' }));
  });
  await app.ready();
  return app;
}

async function decisions(): Promise<Server> {
  const metrics = new Metrics({ processMetrics: false });
  const enforcer = readyEnforcer(fleetDirectory(TENANTS), metrics);
  const app = createHttpServer({ logger: silentLogger, metrics, isReady: () => true });
  await app.register(decisionApi, { enforcer, metrics, tokens: TOKENS, rateLimitPerMinute: 600 });
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

export const decisionAuthBenchmark: Benchmark = {
  id: 'decision-auth',
  title: 'decision API authentication',
  async run({ quick, progress }) {
    const figure = figures('8 decision auth', quick);
    const rounds = quick ? 2 : 7;
    const count = quick ? 500 : 20_000;
    const [bare, authenticated, full] = await Promise.all([
      constantRoute(false),
      constantRoute(true),
      decisions(),
    ]);
    try {
      // Warm-up: JIT and fastify's first-request work out of the timed rounds.
      for (const app of [bare, authenticated, full]) await cpuPerRequest(app, count / 5);
      const without: number[] = [];
      const withAuth: number[] = [];
      const decided: number[] = [];
      progress.phase('decision auth rounds', rounds);
      for (let round = 0; round < rounds; round++) {
        without.push(await cpuPerRequest(bare, count));
        withAuth.push(await cpuPerRequest(authenticated, count));
        decided.push(await cpuPerRequest(full, count));
        progress.tick();
      }
      const added = median(withAuth) - median(without);
      return [
        figure('CPU per request, constant route without the token check', median(without), microseconds),
        figure('CPU per request, constant route with the token check', median(withAuth), microseconds),
        figure('CPU per decision request (token check included)', median(decided), microseconds),
        figure(`added by the token check (${TOKENS.length} tokens configured)`, added, microseconds),
        figure(
          'token check share of a decision request',
          added / median(decided),
          (n) => `${(n * 100).toFixed(1)}%`,
          {
            text: '≤ 10%',
            met: (n) => n <= 0.1,
          },
        ),
      ];
    } finally {
      await Promise.all([bare.close(), authenticated.close(), full.close()]);
    }
  },
};

const SIDES = {
  'without-check': () => constantRoute(false),
  'with-check': () => constantRoute(true),
  decisions,
} as const;

if (import.meta.url === `file://${process.argv[1]}`) {
  const [side = '', count = '200000'] = process.argv.slice(2);
  if (!(side in SIDES)) {
    throw new Error(`side: one of ${Object.keys(SIDES).join(', ')}, then a request count`);
  }
  const app = await SIDES[side as keyof typeof SIDES]();
  await cpuPerRequest(app, 4_000);
  const µs = await cpuPerRequest(app, Number(count));
  console.log(`${side}: ${microseconds(µs)} CPU per request over ${count} requests (after 4,000 to warm up)`);
  await app.close();
}
