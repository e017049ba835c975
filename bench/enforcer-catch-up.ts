// Benchmark 12: a fresh enforcer's catch-up on the real Apache Kafka broker. The compacted state topics hold a
// fleet's directory (per tenant: two accepted domains and an ONPREM connector; one tenant in fifty blocked), as
// the admin service and the scorer wrote them; `relayguard enforcer` is started as a process, as users run it, and
// timed from its spawn until it logs that it is ready (its directory feed caught up: /readyz answers 200). Its own
// CPU time is read from /proc, so the other processes' load does not inflate the per-CPU-second figure. Then the
// enforcer is stopped (it writes its index's snapshot, RELAYGUARD_SNAPSHOT_DIR), one tenant in a hundred changes
// while it is down, and a second enforcer is timed starting from the snapshot.
// The topics are filled through the Apache Kafka Java producer (bench/state-topics-writer.ts: a few µs of CPU per
// record where kafkajs spends ~20), with the values relayguard's codec encodes through the Schema Registry.
// Larger fleets than the measured 1,000,000 tenants: BENCH_CATCH_UP_TENANTS=10000000 (bench/README.md, "At
// 10,000,000 tenants"); BENCH_ENFORCER_NODE_OPTIONS is the enforcers' NODE_OPTIONS, as an operator sets it
// (deploy/k8s/enforcer.yaml: --max-old-space-size=2048).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DirectoryEvent } from '../services/core/directory.js';
import { Topics } from '../services/core/topics.js';
import { RegistryCodec } from '../services/platform/codec/registry-codec.js';
import { loadConfig } from '../services/platform/config.js';
import { ensureTopics } from '../services/platform/kafka/topic-admin.js';
import { plannedTopics } from '../services/platform/kafka/topic-plan.js';
import { testKafkaVersion, withKafkaAdmin } from '../test/support/kafka-broker.js';
import { startProductionStack } from '../test/support/production-stack.js';
import { type ServiceProcess, startServiceProcess } from '../test/support/scorer-process.js';
import { freePort } from '../test/support/tether.js';
import { defineBenchmark, format, withCleanups } from './harness.js';
import { startStateTopicsWriter } from './state-topics-writer.js';
import { blockEvent, stateRecord, tenantChanges } from './workload.js';

const SIZES = {
  quick: { tenants: 2_000 },
  measured: { tenants: tenantsFrom(process.env.BENCH_CATCH_UP_TENANTS) ?? 1_000_000 },
};

function tenantsFrom(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const tenants = Number(value);
  if (!Number.isSafeInteger(tenants) || tenants < 1)
    throw new Error(`BENCH_CATCH_UP_TENANTS: "${value}" is not a positive whole number of tenants`);
  return tenants;
}

const BLOCKED_EVERY = 50;
/** One tenant in this many changes while the first enforcer is down. */
const CHANGED_EVERY = 100;
/** Tenants between two ticks of the progress bar. */
const CHUNK = 5_000;
/** As `relayguard topics` creates them by default (--state-partitions 3). */
const STATE_PARTITIONS = 3;

/** User + system CPU seconds and resident memory of a process, from /proc (Linux). */
function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100;
  return {
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond,
    rssBytes: statusBytes(pid, 'VmRSS'),
  };
}

/** A memory line of /proc/<pid>/status in bytes (0 once the process is gone). */
function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
}

/** Stops the enforcer, which writes its snapshot meanwhile, watching its peak resident memory until it exits. */
async function stopWatchingPeak(enforcer: ServiceProcess) {
  const { pid } = enforcer.process;
  let peakBytes = 0;
  const timer = setInterval(() => {
    try {
      peakBytes = Math.max(peakBytes, statusBytes(pid, 'VmHWM'));
    } catch {
      // It exited between two reads.
    }
  }, 100);
  try {
    await enforcer.process.stop(60_000);
    return peakBytes;
  } finally {
    clearInterval(timer);
  }
}

export const enforcerCatchUpBenchmark = defineBenchmark({
  id: 'enforcer-catch-up',
  title: '12 enforcer catch-up',
  sizes: SIZES,
  async run({ sizes: { tenants }, progress, figure }) {
    const blocked = Math.ceil(tenants / BLOCKED_EVERY);
    return withCleanups(async (defer) => {
      progress.phase('starting Apache Kafka, registry, Redis', 1);
      const stack = await startProductionStack({ createTopics: false });
      defer(() => stack.stop());
      await withKafkaAdmin(stack.kafka, (admin) =>
        ensureTopics(
          admin,
          plannedTopics({ partitions: 3, statePartitions: STATE_PARTITIONS, replicationFactor: 1 }),
        ),
      );
      progress.tick();

      progress.phase('writing the state topics', tenants);
      const codec = new RegistryCodec(loadConfig(stack.env).schemaRegistry!);
      const topics = [Topics.acceptedDomains, Topics.connectors, Topics.tenantBlocks];
      let writerCpuSeconds = 0;
      /** Writes every tenant's changes (and blocks) whose number `pick` picks; how many records. */
      const write = async (pick: (i: number) => boolean, extra: (i: number) => DirectoryEvent[]) => {
        const writer = await startStateTopicsWriter(stack.kafka.bootstrapServers, testKafkaVersion(), topics);
        const cpu = process.cpuUsage();
        for (let i = 0; i < tenants; i++) {
          if (pick(i)) {
            for (const change of [...tenantChanges(i), ...extra(i)]) {
              const { topic, key } = stateRecord(change);
              await writer.write(topic, key, await codec.encode(topic as never, change.event as never));
            }
          }
          if ((i + 1) % CHUNK === 0 || i + 1 === tenants) progress.tick((i % CHUNK) + 1);
        }
        const { records, cpuSeconds } = await writer.end();
        const used = process.cpuUsage(cpu);
        writerCpuSeconds += cpuSeconds + (used.user + used.system) / 1e6;
        return records;
      };
      const records = await write(
        () => true,
        (i) => (i % BLOCKED_EVERY === 0 ? [{ kind: 'tenant-block', event: blockEvent(i) }] : []),
      );

      const snapshots = await mkdtemp(join(tmpdir(), 'relayguard-bench-snapshot-'));
      defer(() => rm(snapshots, { recursive: true, force: true }));
      const env = { ...stack.env, RELAYGUARD_SNAPSHOT_DIR: snapshots };
      progress.phase('a fresh enforcer catching up', 1);
      const first = await timedEnforcer(env, blocked, defer);
      progress.tick();
      const peakBytes = await stopWatchingPeak(first.enforcer);
      const { wrote, when } = lastSnapshot(first.enforcer.logs);

      progress.phase('changes while it is down', tenants);
      const later = await write(
        (i) => i % CHANGED_EVERY === 1,
        () => [],
      );
      progress.phase('an enforcer starting from the snapshot', 1);
      const second = await timedEnforcer(env, blocked, defer);
      progress.tick();
      const loaded = second.enforcer.logs.find((line) => line.msg === 'loaded the index snapshot');
      if (!loaded) throw new Error('the second enforcer did not load the snapshot');

      return [
        figure(
          'state topics written: CPU per record (this process and the Java producer)',
          (writerCpuSeconds * 1e6) / (records + later),
          (n) => `${n.toFixed(1)} µs`,
        ),
        figure(
          `Apache Kafka ${testKafkaVersion()}: spawn to ready, ${format.count(tenants)} tenants (${format.count(records)} records)`,
          first.wallMs,
          format.ms,
        ),
        figure('enforcer CPU to ready (its own, /proc)', first.cpuSeconds * 1000, format.ms),
        figure('records per enforcer CPU-second', records / first.cpuSeconds, format.rate),
        figure('enforcer resident memory when ready', first.rssBytes, format.bytes),
        figure(`index snapshot written ${when}`, Number(wrote.bytes), format.bytes),
        figure('index snapshot write time', Number(wrote.ms), format.ms),
        figure('enforcer peak resident memory, stop included (VmHWM)', peakBytes, format.bytes),
        figure(
          `from the snapshot: spawn to ready (${format.count(later)} records written since, the blocks read again)`,
          second.wallMs,
          format.ms,
        ),
        figure(
          'from the snapshot: enforcer CPU to ready (its own, /proc)',
          second.cpuSeconds * 1000,
          format.ms,
        ),
        figure('from the snapshot: snapshot load time', Number(loaded.ms), format.ms),
        figure('from the snapshot: resident memory when ready', second.rssBytes, format.bytes),
      ];
    });
  },
});

/**
 * The snapshot the second enforcer starts from: the one written on stop, or, when the stop gave that write up (a
 * stop waits 15 s for it, services/app/directory-feed.ts) or relayguard's stop timeout cut it, the last one the
 * enforcer wrote while it caught up (every RELAYGUARD_SNAPSHOT_INTERVAL_SECONDS): a restarted replica's case then.
 */
function lastSnapshot(logs: ReadonlyArray<Record<string, unknown>>) {
  const stopping = logs.findIndex((line) => String(line.msg).startsWith('shutting down'));
  const at = logs.findLastIndex((line) => line.msg === 'wrote the index snapshot');
  if (at < 0) throw new Error('the enforcer wrote no snapshot');
  if (at > stopping && stopping >= 0) return { wrote: logs[at]!, when: 'on stop' };
  return { wrote: logs[at]!, when: "while catching up (the stop's own was not written)" };
}

/** `relayguard enforcer` spawned and timed until ready; its /metrics must count every blocked tenant. */
async function timedEnforcer(
  env: Readonly<Record<string, string>>,
  blocked: number,
  defer: (cleanup: () => Promise<unknown>) => void,
) {
  const port = await freePort();
  const started = performance.now();
  const nodeOptions = process.env.BENCH_ENFORCER_NODE_OPTIONS;
  const enforcer = await startServiceProcess(
    { ...env, RELAYGUARD_HTTP_PORT: String(port), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
    'enforcer',
  );
  defer(() => enforcer.process.stop(60_000));
  await enforcer.ready;
  const wallMs = performance.now() - started;
  const usage = processUsage(enforcer.process.pid);
  await checkBlocked(`http://127.0.0.1:${port}`, blocked);
  return { enforcer, wallMs, ...usage };
}

/** The enforcer's /metrics say every blocked tenant is blocked: it read the whole directory, not a part. */
async function checkBlocked(address: string, blocked: number): Promise<void> {
  const metrics = await (await fetch(`${address}/metrics`)).text();
  const value = Number(/^relayguard_tenants_blocked (\d+)/m.exec(metrics)?.[1]);
  if (value !== blocked) throw new Error(`the enforcer holds ${value} blocked tenants, not ${blocked}`);
}
