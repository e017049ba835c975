// Load benchmark of the Postfix policy server (a measurement, not a test). The main thread runs `relayguard all`
// in embedded mode (scorer, enforcer, admin, directory feed) with the policy server on a free loopback port and
// a fleet of tenants, every tenth one blocked; a child process plays a relay fleet: N connections, each sending one
// request and waiting for its reply before the next, as Postfix's smtpd processes do. Two scenarios:
//   rcpt     — RCPT requests only: the decision path. 1 in 8 senders is unregistered (3 partner domains: below
//              the default thresholds); every tenth tenant is blocked, so those are rejected.
//   message  — RCPT then END-OF-MESSAGE per message: the decision plus one MessageSubmitted published and scored.
// Latency is measured at the client, from write to reply, so it includes loopback TCP and both event loops.
//
//   npx tsx bench/policy-server.ts [--seconds 10] [--connections 50]   (from the repository root)

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRuntime } from '../services/app/runtime.js';
import { PolicyClient } from '../services/cli/simulation/policy-client.js';
import { adminDirectory } from '../services/cli/simulation/run.js';
import { loadConfig } from '../services/platform/config.js';
import { silentLogger } from '../services/platform/logger.js';
import { startLoopbackPolicyServer } from '../test/support/loopback-policy-server.js';
import { commandLine } from './harness.js';

const TENANTS = 200;

interface LoadJob {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly seconds: number;
  readonly scenario: 'rcpt' | 'message';
}

interface LoadResult {
  readonly scenario: string;
  readonly requests: number;
  readonly seconds: number;
  readonly rejected: number;
  readonly latenciesMs: Float64Array;
}

const clientOf = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.25`;

async function load(job: LoadJob): Promise<LoadResult> {
  const clients = await Promise.all(
    Array.from({ length: job.connections }, () => PolicyClient.connect(job.host, job.port)),
  );
  const latencies: number[] = [];
  let rejected = 0;
  let sequence = 0;
  const warmupEnd = performance.now() + 1_000;
  const end = warmupEnd + job.seconds * 1_000;
  const timed = async (client: PolicyClient, attributes: Record<string, string | number>) => {
    const started = performance.now();
    const action = await client.request(attributes);
    if (started >= warmupEnd) latencies.push(performance.now() - started);
    return action;
  };
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const n = sequence++;
        const tenant = n % TENANTS;
        const base = {
          request: 'smtpd_access_policy',
          protocol_name: 'ESMTP',
          client_address: clientOf(tenant),
          // Each tenant's n-th message: the unregistered share is the same for every tenant.
          sender:
            Math.floor(n / TENANTS) % 8 === 0
              ? `news@partner${n % 3}.example`
              : `it@tenant-${tenant}.example`,
          recipient: 'someone@external.example',
          queue_id: `B${n.toString(16)}`,
          policy_context: 'bench-relay',
        };
        const action = await timed(client, { ...base, protocol_state: 'RCPT', recipient_count: 0, size: 0 });
        if (action !== 'DUNNO') rejected++;
        else if (job.scenario === 'message') {
          await timed(client, { ...base, protocol_state: 'END-OF-MESSAGE', recipient_count: 1, size: 4096 });
        }
      }
    }),
  );
  for (const client of clients) client.close();
  return {
    scenario: job.scenario,
    requests: latencies.length,
    seconds: job.seconds,
    rejected,
    latenciesMs: Float64Array.from(latencies),
  };
}

const LOAD_JOB = 'RELAYGUARD_BENCH_LOAD_JOB';

if (process.send && process.argv[2] === LOAD_JOB) {
  const result = await load(JSON.parse(process.argv[3]!) as LoadJob);
  // Disconnect only once the (large) result has left: disconnecting at once can drop it.
  process.send(result, () => process.disconnect());
} else {
  const { seconds, connections } = commandLine({ seconds: 10, connections: 50 });
  const config = loadConfig({});
  const runtime = await startRuntime(config, {
    services: ['scorer', 'enforcer', 'admin'],
    logger: silentLogger,
  });
  await runtime.ready;
  const actor = { subject: 'bench', role: 'OPERATOR' } as const;
  const directory = adminDirectory(runtime.admin!, actor);
  for (let i = 0; i < TENANTS; i++) {
    await directory.putAcceptedDomain(`tenant-${i}`, `tenant-${i}.example`);
    await directory.putConnector(`tenant-${i}`, `tenant-${i}-onprem`, {
      relayPath: 'ONPREM',
      senderIpRanges: [`${clientOf(i).replace(/\.25$/, '.0')}/24`],
      enabled: true,
    });
    // Every tenth tenant blocks on its first unregistered message: the reject path is exercised too.
    if (i % 10 === 0) {
      await runtime.admin!.setPolicy(actor, `tenant-${i}`, {
        minUnregistered: 1,
        minUnregisteredRatio: 0,
        // The distinct-domain rule off: D is capped (RELAYGUARD_DISTINCT_DOMAIN_CAP), so it is switched off by
        // the unregistered count it needs beside it, not by a D it could never reach (the admin refuses that).
        minUnregisteredWithDistinct: 1_000_000,
      });
    }
  }
  const server = await startLoopbackPolicyServer(runtime.enforcer!, runtime.metrics);

  const run = (scenario: LoadJob['scenario']) =>
    new Promise<LoadResult>((resolve, reject) => {
      const job: LoadJob = { host: server.host, port: server.port, connections, seconds, scenario };
      // Its own process, so the relay fleet and the server each have a core and an event loop.
      const child = fork(fileURLToPath(import.meta.url), [LOAD_JOB, JSON.stringify(job)], {
        execArgv: ['--import', 'tsx'],
        serialization: 'advanced',
      });
      child.once('message', (result) => resolve(result as LoadResult));
      child.once('error', reject);
      child.once('exit', (code) => code !== 0 && reject(new Error(`the load process exited with ${code}`)));
    });

  // The message scenario first: its END-OF-MESSAGE events block every tenth tenant, which rcpt then rejects.
  const results = [await run('message'), await run('rcpt')];
  await server.close();
  await runtime.stop();

  const quantile = (sorted: Float64Array, q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  process.stdout.write(
    `policy server, ${connections} connections, ${seconds} s per scenario after 1 s warm-up, node ${process.version}\n`,
  );
  for (const result of results) {
    const sorted = result.latenciesMs.sort();
    process.stdout.write(
      `${result.scenario.padEnd(8)} ${Math.round(result.requests / result.seconds)
        .toLocaleString('en-US')
        .padStart(
          8,
        )} requests/s  p50 ${quantile(sorted, 0.5).toFixed(3)} ms  p99 ${quantile(sorted, 0.99).toFixed(3)} ms  p99.9 ${quantile(sorted, 0.999).toFixed(3)} ms  (${result.rejected.toLocaleString('en-US')} rejected)\n`,
    );
  }
}
