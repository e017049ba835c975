// The hot-tenant flood fault row: one tenant sends at >= 20,000 msg/s for a scaled-down span through a scorer
// process with a 512 MiB heap (--max-old-space-size=512). The scorer must neither crash nor stop the group; the
// hot tenant, turning to unregistered senders mid-flood, and fresh tenants on its partition (its neighbours,
// waiting behind its batches) must be blocked within 2x of the quiet case (latencyBound: 2x the quiet median, at
// least the median + 100 ms), each judged by the median of five blocks: the hot tenant is blocked, unblocked by
// the operator and blocked again, five times during the flood. Block latency here: from the acknowledged publish
// of the event that crosses the threshold to the BLOCKED record read back from tenant-blocks. The flood comes from
// a process of its own (hot-tenant-flood-process.ts says why): this process only publishes the crossings and reads
// the blocks back, so its event loop, the stopwatch, stays free. The row checks its fault happened (the rate).
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import type { Subscription } from '../../services/platform/ports.js';
import { projectPath, projectRoot } from '../../services/platform/project-files.js';
import { spawnTethered, waitFor } from '../support/tether.js';
import { type ChaosStack, caughtUp, NOTHING_COMPARED, PARTITIONS } from './harness.js';
import { eventSource, ownDomain, publish } from './hot-tenant-traffic.js';
import { onChaosStack, type ScenarioResult, sleep, UNBLOCK_SETTLE_MS } from './scenarios.js';

/** The rate the fault must reach (the hot tenant). */
export const HOT_RATE = 20_000;
/** Aimed at, so that the measured rate clears HOT_RATE. */
const TARGET_RATE = 24_000;
/** Unregistered events that block a tenant under the default policy: D >= 50 distinct domains and U >= 100. */
const TO_CROSS = 100;
const DISTINCT = 50;
const NEIGHBOURS = 5;
/**
 * The hot tenant's blocks during the flood, judged by their median as the neighbours' are: one sample spreads by
 * hundreds of milliseconds on this machine (see latencyBound), for the hot tenant as for any other.
 */
const HOT_BLOCKS = 5;
const HOT = 'hot';
/** Blocked first and not measured: the first block of a run pays for connections and the schema's registration. */
const WARM = 'warm';

export interface HotTenantResult extends ScenarioResult {
  readonly rate: number;
  readonly quietMs: readonly number[];
  readonly floodMs: readonly number[];
  readonly hotMs: readonly number[];
  /** The scorer's peak resident memory (VmHWM), MiB. */
  readonly scorerPeakMiB: number;
}

/** The partition kafkajs' default partitioner (relayguard's producer) gives a key, of PARTITIONS. */
function partitionOf(key: string): number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic: Topics.messageSubmitted, partitionMetadata, message: { key, value: null } });
}

/** Quiet and flood neighbours on the hot tenant's partition, and tenants of the other partitions. */
function chooseTenants(): { quiet: string[]; flood: string[] } {
  const hotPartition = partitionOf(HOT);
  const same: string[] = [];
  for (let i = 0; same.length < 2 * NEIGHBOURS; i++)
    if (partitionOf(`n${i}`) === hotPartition) same.push(`n${i}`);
  return { quiet: same.slice(0, NEIGHBOURS), flood: same.slice(NEIGHBOURS) };
}

const event = eventSource('hot-row');

/** Sends the tenant's unregistered events up to the crossing one; resolves with when that one was acknowledged. */
async function cross(stack: ChaosStack, tenantId: string): Promise<number> {
  const unregistered = (i: number) => event(tenantId, `spam${i % DISTINCT}.${tenantId}-x.example`);
  await publish(
    stack.adapters,
    Array.from({ length: TO_CROSS - 1 }, (_, i) => unregistered(i)),
  );
  return publish(stack.adapters, [unregistered(TO_CROSS - 1)]);
}

/** A BLOCKED record: when it was read back, and its record's timestamp (when the scorer sent it). */
interface SeenBlock {
  readonly at: number;
  readonly stamped: number;
}

/** Each tenant's BLOCKED records, in the order they are read back. */
async function watchBlocks(
  stack: ChaosStack,
): Promise<{ seen: Map<string, SeenBlock[]>; sub: Subscription }> {
  const seen = new Map<string, SeenBlock[]>();
  const sub = await stack.adapters.log.subscribe({
    groupId: null,
    topics: [Topics.tenantBlocks],
    maxWaitTimeMs: 20,
    handleBatch: async (batch) => {
      for (const record of batch.records) {
        if (record.value === null) continue;
        const block = (await stack.adapters.codec.decode(
          Topics.tenantBlocks,
          record.value,
        )) as TenantBlockEvent;
        if (block.kind !== 'BLOCKED') continue;
        const blocks = seen.get(block.tenantId) ?? [];
        blocks.push({ at: Date.now(), stamped: record.timestamp });
        seen.set(block.tenantId, blocks);
      }
    },
  });
  return { seen, sub };
}

/** The tenant's `nth` block (0: its first). */
const blockedAt = (seen: Map<string, SeenBlock[]>, tenantId: string, nth = 0) =>
  waitFor(() => seen.get(tenantId)?.[nth], {
    timeoutMs: 180_000,
    intervalMs: 5,
    description: `${tenantId} blocked (${nth + 1})`,
  });

/** A crossing's block latency, and its two hops: to the BLOCKED record's timestamp, and from there to reading it. */
async function latencyOf(seen: Map<string, SeenBlock[]>, tenantId: string, sent: number, nth = 0) {
  const block = await blockedAt(seen, tenantId, nth);
  return { ms: block.at - sent, hops: `${block.stamped - sent} + ${block.at - block.stamped}` };
}

function peakMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

/**
 * Within 2x of the quiet phase's median block latency, with a 100 ms floor: latencies here are tens of
 * milliseconds, and on two cores shared with other runs one sample varies by that much (quiet samples of one run
 * ranged 21-506 ms).
 */
export const latencyBound = (quietMedian: number) => Math.max(2 * quietMedian, quietMedian + 100);

const LOOP_RESOLUTION_MS = 10;
/** monitorEventLoopDelay's figure (ns) less its own period: how late the loop came round. */
const loopDelayMs = (ns: number) => Math.max(0, Math.round(ns / 1e6 - LOOP_RESOLUTION_MS));

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The flood's process (hot-tenant-flood-process.ts): when it began, and what it sent over how long. */
async function startFlood(stack: ChaosStack, spanSeconds: number) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(RELAYGUARD_|KAFKA_|REDIS_|SCHEMA_)/.test(key)),
  );
  const proc = await spawnTethered(
    process.execPath,
    [
      '--import',
      'tsx',
      projectPath('test', 'chaos', 'hot-tenant-flood-process.ts'),
      HOT,
      String(TARGET_RATE),
      String(spanSeconds),
    ],
    { cwd: projectRoot, env: { ...inherited, ...stack.env } },
  );
  let stderr = '';
  proc.child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const lines: Record<string, number>[] = [];
  let partial = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) lines.push(JSON.parse(line) as Record<string, number>);
  });
  const line = async (field: string) => {
    const found = await waitFor(() => lines.find((l) => field in l) ?? proc.hasExited(), {
      timeoutMs: (spanSeconds + 120) * 1_000,
      intervalMs: 20,
      description: `the flood's ${field}`,
    });
    if (found === true) throw new Error(`the flood's process exited before its ${field}: ${stderr}`);
    return found;
  };
  return {
    started: async () => (await line('started')).started!,
    done: async () => {
      const { sent, elapsedMs } = await line('sent');
      return { sent: sent!, elapsedMs: elapsedMs! };
    },
    stop: () => proc.stop(),
  };
}

/** The flood for `spanSeconds` (the issue asks for 5 minutes; scaled down here). */
export async function hotTenantFlood(spanSeconds = 60): Promise<HotTenantResult> {
  const { quiet, flood } = chooseTenants();
  const figures = {
    rate: 0,
    quietMs: [] as number[],
    floodMs: [] as number[],
    hotMs: [] as number[],
    scorerPeakMiB: 0,
  };
  const hops = new Map<string, string>();
  const result = await onChaosStack(
    [HOT, WARM, ...quiet, ...flood],
    async (stack, services) => {
      const scorer = services.add('scorer', { NODE_OPTIONS: '--max-old-space-size=512' });
      await scorer.start();
      await scorer.ready();
      const { seen, sub } = await watchBlocks(stack);
      try {
        await publish(stack.adapters, [event(HOT, ownDomain(HOT))]);
        await cross(stack, WARM);
        await blockedAt(seen, WARM);
        for (const tenantId of quiet) {
          const sent = await cross(stack, tenantId);
          const { ms, hops: split } = await latencyOf(seen, tenantId, sent);
          figures.quietMs.push(ms);
          hops.set(tenantId, split);
        }
        // The flood: the hot tenant's own domain at TARGET_RATE. Fresh neighbours cross their thresholds at even
        // intervals, and between them the hot tenant turns to unregistered senders: blocked, then unblocked by the
        // operator (its window starts afresh), HOT_BLOCKS times.
        const spanMs = spanSeconds * 1_000;
        const flooding = await startFlood(stack, spanSeconds);
        // The stopwatch's own delays during the flood, reported beside the latencies it measured.
        const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
        try {
          const started = await flooding.started();
          const slot = (k: number) => sleep(started + (spanMs * k) / (NEIGHBOURS + 2) - Date.now());
          loopDelay.enable();
          const neighbours = Promise.all(
            flood.map(async (tenantId, i) => {
              await slot(i + 1);
              return { tenantId, ...(await latencyOf(seen, tenantId, await cross(stack, tenantId))) };
            }),
          );
          const hot: { ms: number; hops: string }[] = [];
          for (let nth = 0; nth < HOT_BLOCKS; nth++) {
            await slot(nth + 1.5);
            hot.push(await latencyOf(seen, HOT, await cross(stack, HOT), nth));
            await stack.unblock(HOT, Date.now());
            await sleep(UNBLOCK_SETTLE_MS);
          }
          for (const { tenantId, ms, hops: split } of await neighbours) {
            figures.floodMs.push(ms);
            hops.set(tenantId, split);
          }
          figures.hotMs = hot.map(({ ms }) => ms);
          hops.set(HOT, hot.map(({ hops: split }) => split).join(', '));
          loopDelay.disable();
          const { sent, elapsedMs } = await flooding.done();
          figures.rate = Math.round(sent / (elapsedMs / 1_000));
        } finally {
          await flooding.stop();
        }
        const recoveryMs = await caughtUp(stack, Date.now(), 300_000);
        figures.scorerPeakMiB = peakMiB(scorer.pid);
        const { committed, end } = await stack.progress();
        const quietMedian = median(figures.quietMs);
        const bound = latencyBound(quietMedian);
        const strict = median(figures.floodMs) <= 2 * quietMedian && median(figures.hotMs) <= 2 * quietMedian;
        const exits = services.unplannedExits.length;
        const split = (tenants: readonly string[]) => tenants.map((t) => hops.get(t)).join(', ');
        return {
          ...NOTHING_COMPARED,
          fault: `hot tenant ${figures.rate.toLocaleString('en')} msg/s for ${spanSeconds} s, scorer heap 512 MiB`,
          sent: end,
          counted: committed,
          expected: end,
          lost: Math.max(0, end - committed),
          recoveryMs,
          details: [
            `rate ${figures.rate} msg/s (fault requires >= ${HOT_RATE})`,
            `quiet neighbours' block latency ms: ${figures.quietMs.join(', ')} (median ${quietMedian})`,
            `flood neighbours' block latency ms: ${figures.floodMs.join(', ')} (median ${median(figures.floodMs)}, bound ${bound})`,
            `hot tenant's block latency ms: ${figures.hotMs.join(', ')} (median ${median(figures.hotMs)}, bound ${bound}); both medians within 2x of the quiet median: ${strict ? 'yes' : 'no'}`,
            `hops, ms from the acknowledgement to the BLOCKED record's timestamp + from there to reading it: quiet ${split(quiet)}; flood ${split(flood)}; hot ${hops.get(HOT)}`,
            `this process's event-loop delay during the flood (the stopwatch's error): p99 ${loopDelayMs(loopDelay.percentile(99))} ms, max ${loopDelayMs(loopDelay.max)} ms`,
            `scorer peak RSS ${figures.scorerPeakMiB} MiB, unplanned exits ${exits}, caught up ${recoveryMs} ms after the flood`,
          ],
          ok:
            figures.rate >= HOT_RATE &&
            exits === 0 &&
            committed >= end &&
            median(figures.floodMs) <= bound &&
            median(figures.hotMs) <= bound,
        };
      } finally {
        await sub.stop();
      }
    },
    { realKafka: true, brokers: 1 },
  );
  return { ...result, ...figures };
}
