// The policy-server load generator, run by benchmark 4 in a process of its own (so it never shares an event loop
// with the server it measures). Each connection behaves as a Postfix smtpd does: one request, wait for the
// reply, the next. `saturate` sends as fast as the replies come; `rate` spreads a fixed request rate over the
// connections and measures each request from its write to its reply. Prints one JSON line.
import { argv, stdout } from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { PolicyClient } from '../services/cli/simulation/policy-client.js';
import { seededRandom } from '../test/support/builders.js';
import { rcpt } from '../test/support/enforcement.js';
import { percentile } from './harness.js';
import { tenantAddress, tenantId } from './workload.js';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly mode: 'saturate' | 'rate';
  /** Requests per second over all connections, for `rate`. */
  readonly rate?: number;
  readonly durationMs: number;
  readonly tenants: number;
  /** Tenants 0..blocked-1 are blocked: their requests from SPAM_DOMAINS are the ones to reject. */
  readonly blocked: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Share of replies that rejected with 5.7.750. */
  readonly rejected: number;
}

export const SPAM_DOMAINS = Array.from({ length: 20 }, (_, k) => `spam${k}.example`);

/**
 * RCPT requests as protocol text: one in ten from a blocked tenant's range with a spam sender (to reject),
 * the others from any tenant with a sender of its own domain (to accept).
 */
export function policyRequests(tenants: number, blocked: number, count: number): string[] {
  const random = seededRandom(11);
  return Array.from({ length: count }, (_, k) => {
    const spam = k % 10 === 0;
    const i = Math.floor(random() * (spam ? blocked : tenants));
    const sender = spam
      ? `someone@${SPAM_DOMAINS[k % SPAM_DOMAINS.length]}`
      : `user@mail.${tenantId(i)}.example`;
    const lines = Object.entries(rcpt(tenantAddress(i), sender)).map(([name, value]) => `${name}=${value}\n`);
    return `${lines.join('')}\n`;
  });
}

async function drive(options: LoadOptions): Promise<LoadResult> {
  const requests = policyRequests(options.tenants, options.blocked, 10_000);
  const clients = await Promise.all(
    Array.from({ length: options.connections }, () => PolicyClient.connect(options.host, options.port)),
  );
  const latencies: number[] = [];
  let rejected = 0;
  const started = performance.now();
  const end = started + options.durationMs;
  // Each connection's requests are due every `interval` ms, staggered so the rate is even over time.
  const interval = options.mode === 'rate' ? (options.connections * 1000) / options.rate! : 0;
  await Promise.all(
    clients.map(async (client, c) => {
      let next = started + (interval * c) / options.connections;
      for (let k = c; performance.now() < end; k += options.connections) {
        if (interval > 0) {
          const wait = next - performance.now();
          if (wait > 1) await sleep(wait);
          next += interval;
        }
        const sent = performance.now();
        const action = await client.send(requests[k % requests.length]!);
        latencies.push(performance.now() - sent);
        if (action.includes('5.7.750')) rejected++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const client of clients) client.close();
  return {
    requests: latencies.length,
    seconds,
    rate: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    rejected: rejected / latencies.length,
  };
}

// Run as a script (benchmark 4 passes the options as JSON); imported, it only lends policyRequests.
if (argv[1]?.endsWith('policy-load.ts')) {
  stdout.write(`${JSON.stringify(await drive(JSON.parse(argv[2]!) as LoadOptions))}\n`);
}
