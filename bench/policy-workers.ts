// The policy port served by several worker threads against one thread (issue 17's RELAYGUARD_POLICY_WORKERS
// question), beside the no-op server, in alternating rounds: saturation at 50 connections, then p50/p99 at
// 10,000 requests/s, as benchmark 4 measures them (its generator, in a process of its own). Each worker holds
// benchmark 4's directory and serves the same port with SO_REUSEPORT, the kernel spreading the connections among
// the workers; the one-thread side is benchmark 4's server, in this process's main thread. Not in `npm run bench`.
//
//   npx tsx bench/policy-workers.ts [--workers 2] [--rounds 3] [--seconds 5]
import { once } from 'node:events';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { commandLine, format, median, withCleanups } from './harness.js';
import { startRelayguard } from './policy.js';
import { type LoadOptions, type LoadResult, load, startNoopServer } from './policy-load.js';

const TENANTS = 10_000;
const BLOCKED = TENANTS / 100;
const RATE = 10_000;

interface WorkerSetup {
  readonly port: number;
}

/** A worker: benchmark 4's server on the shared port; answers 'answered' with its request count, 'close' by closing. */
async function serveInWorker({ port }: WorkerSetup): Promise<void> {
  const relayguard = await startRelayguard(TENANTS, BLOCKED, { port, reusePort: true });
  parentPort!.on('message', async (message: string) => {
    if (message === 'answered') parentPort!.postMessage(await relayguard.answered());
    else if (message === 'close') {
      await relayguard.server.close();
      parentPort!.close();
    }
  });
  parentPort!.postMessage(relayguard.server.port);
}

/** One side: where it listens, and how many requests it has answered so far (its servers' own counters). */
interface Side {
  readonly name: string;
  readonly port: number;
  answered(): Promise<number>;
}

/** `count` workers on one port: the first picks a free one, the others join it. */
async function startWorkers(count: number): Promise<Side & { close(): Promise<void> }> {
  const spawn = async (port: number) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { port } satisfies WorkerSetup });
    const [listening] = (await once(worker, 'message')) as [number];
    return { worker, port: listening };
  };
  const first = await spawn(0);
  const workers = [first, ...(await Promise.all(Array.from({ length: count - 1 }, () => spawn(first.port))))];
  const ask = ({ worker }: { worker: Worker }) =>
    new Promise<number>((resolve) => {
      worker.once('message', resolve);
      worker.postMessage('answered');
    });
  return {
    name: `relayguard, ${count} worker threads`,
    port: first.port,
    answered: async () => (await Promise.all(workers.map(ask))).reduce((sum, n) => sum + n, 0),
    close: () =>
      Promise.all(
        workers.map(async ({ worker }) => {
          worker.postMessage('close');
          await once(worker, 'exit');
        }),
      ).then(() => undefined),
  };
}

interface Measured {
  readonly result: LoadResult;
  /** This process's CPU (every thread) per request the side answered. */
  readonly cpuPerRequestUs: number;
}

async function measure(side: Side, options: Omit<LoadOptions, 'port'>): Promise<Measured> {
  const before = await side.answered();
  const cpu = process.cpuUsage();
  const result = await load({ ...options, port: side.port });
  const used = process.cpuUsage(cpu);
  const answered = (await side.answered()) - before;
  return { result, cpuPerRequestUs: answered > 0 ? (used.user + used.system) / answered : 0 };
}

async function main(): Promise<void> {
  const { workers: threads, rounds, seconds } = commandLine({ workers: 2, rounds: 3, seconds: 5 });
  const common = {
    host: '127.0.0.1',
    connections: 50,
    durationMs: seconds * 1000,
    tenants: TENANTS,
    blocked: BLOCKED,
  };
  await withCleanups(async (defer) => {
    const noop = await startNoopServer();
    defer(() => noop.close());
    const single = await startRelayguard(TENANTS, BLOCKED);
    defer(() => single.server.close());
    const workers = await startWorkers(threads);
    defer(() => workers.close());
    const sides: Side[] = [
      { name: 'no-op server', port: noop.port, answered: async () => 0 },
      { name: 'relayguard, one thread', port: single.server.port, answered: single.answered },
      workers,
    ];
    const saturated = sides.map(() => [] as Measured[]);
    const steady = sides.map(() => [] as Measured[]);
    for (const [phase, runs, mode] of [
      ['saturation', saturated, { mode: 'saturate' }],
      [`${RATE}/s`, steady, { mode: 'rate', rate: RATE }],
    ] as const) {
      for (let round = 0; round < rounds; round++) {
        // The order turns each round, so no side always follows the same one.
        for (let k = 0; k < sides.length; k++) {
          const at = (k + round) % sides.length;
          runs[at]!.push(await measure(sides[at]!, { ...common, ...mode }));
          process.stderr.write(`${phase} round ${round + 1}: ${sides[at]!.name} done\n`);
        }
      }
    }
    const rows = sides.map((side, at) => {
      const sat = saturated[at]!;
      const rate = steady[at]!;
      const ofNoop = (key: 'rate' | 'p99Ms', runs: Measured[][]) =>
        median(runs[at]!.map((run, round) => run.result[key] / runs[0]![round]!.result[key]));
      return [
        side.name,
        format.rate(median(sat.map((run) => run.result.rate))),
        format.percent(ofNoop('rate', saturated)),
        format.rate(median(rate.map((run) => run.result.rate))),
        `${format.ms(median(rate.map((run) => run.result.p50Ms)))} / ${format.ms(median(rate.map((run) => run.result.p99Ms)))}`,
        format.ratio(ofNoop('p99Ms', steady)),
        at === 0
          ? ''
          : `${median(sat.map((run) => run.cpuPerRequestUs)).toFixed(1)} / ${median(rate.map((run) => run.cpuPerRequestUs)).toFixed(1)} µs`,
      ];
    });
    const header = [
      'side',
      'saturation',
      '÷ no-op',
      `at ${RATE}/s`,
      'p50 / p99',
      'p99 ÷ no-op',
      'CPU/request sat. / rate',
    ];
    for (const row of [header, ...rows]) console.log(row.join(' | '));
  });
}

if (isMainThread) await main();
else await serveInWorker(workerData as WorkerSetup);
