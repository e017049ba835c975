// The stalled-leader fault row, on three real Kafka nodes: the leader of a message-submitted partition is frozen
// with SIGSTOP for 15 s (its sockets stay open and nothing answers, as in a long GC pause or a stuck disk), then
// SIGCONT, while relays send END-OF-MESSAGE back to back through an enforcer with the spool
// (test/support/relay-fleet.ts: the enforcer and policy server of `relayguard enforcer` with RELAYGUARD_SPOOL_DIR,
// in this process). The relays' p99 while the leader is stopped is compared with a quiet phase of the same run, and
// every answered message must be one event on the topic, counted exactly. The row checks its fault happened: the
// node was stopped (state T in /proc) and events were waiting in the spool.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topics } from '../../services/core/topics.js';
import { withKafkaAdmin } from '../support/kafka-broker.js';
import { startRelayFleet } from '../support/relay-fleet.js';
import { NOTHING_COMPARED, realKafka } from './harness.js';
import { onChaosStack, type ScenarioResult } from './scenarios.js';

const STOPPED_MS = 15_000;
/**
 * "Unchanged": the p99 while the leader is stopped is at most twice the quiet phase's, or 2 ms above it when that
 * is larger (answers take about a millisecond: a doubling there is scheduling noise on two shared cores).
 */
export const unchangedBound = (quietP99: number) => Math.max(2 * quietP99, quietP99 + 2);

export interface StalledLeaderResult extends ScenarioResult {
  readonly quietP99: number;
  readonly stoppedP99: number;
  readonly answered: number;
  readonly onTopic: number;
  readonly duplicates: number;
  readonly maxSpooled: number;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] ?? Number.NaN;
}

/** The process state letter of /proc/<pid>/stat (T: stopped). */
async function processState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/**
 * The state of a process just sent SIGSTOP, once the stop took (T), or its last state after a second: the signal
 * reaches a busy JVM's threads a moment after kill() returns, so a read at once can still say R.
 */
async function stateOnceStopped(pid: number): Promise<string> {
  let state = await processState(pid);
  for (let waited = 0; state !== 'T' && waited < 1_000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    state = await processState(pid);
  }
  return state;
}

export async function stalledLeader(phaseMs = STOPPED_MS): Promise<StalledLeaderResult> {
  const figures = { quietP99: 0, stoppedP99: 0, answered: 0, onTopic: 0, duplicates: 0, maxSpooled: 0 };
  const directory = await mkdtemp(join(tmpdir(), 'relayguard-spool-'));
  const cleanups: (() => unknown)[] = [];
  try {
    const result = await onChaosStack(
      [],
      async (stack) => {
        const cluster = realKafka(stack);
        const fleet = await startRelayFleet(stack.env, directory, (fn) => cleanups.push(fn));
        try {
          const all: number[] = [];
          await fleet.round(1_000, all); // the producer connected, the schema registered
          const quiet: number[] = [];
          await fleet.round(phaseMs, quiet);
          const leader = await withKafkaAdmin(cluster, async (admin) => {
            const { topics } = await admin.fetchTopicMetadata({ topics: [Topics.messageSubmitted] });
            return topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
          });
          const node = cluster.nodes.find((candidate) => candidate.id === leader)!;
          const stopped: number[] = [];
          let state = '';
          process.kill(node.pid, 'SIGSTOP');
          const watching = setInterval(() => {
            figures.maxSpooled = Math.max(figures.maxSpooled, fleet.metrics.spoolDepth?.().events ?? 0);
          }, 100);
          try {
            const during = fleet.round(phaseMs, stopped);
            state = await stateOnceStopped(node.pid);
            await during;
          } finally {
            process.kill(node.pid, 'SIGCONT');
            clearInterval(watching);
          }
          const started = Date.now();
          const after: number[] = [];
          await fleet.round(2_000, after);
          all.push(...quiet, ...stopped, ...after);
          // Every answered message an event on the topic: the spool drained, each counted once.
          const { ids, records } = await fleet.published(all.length);
          Object.assign(figures, {
            quietP99: percentile(quiet, 99),
            stoppedP99: percentile(stopped, 99),
            answered: all.length,
            onTopic: ids.size,
            duplicates: records - ids.size,
          });
          const bound = unchangedBound(figures.quietP99);
          const happened = state === 'T' && figures.maxSpooled > 0;
          return {
            ...NOTHING_COMPARED,
            fault: `leader of message-submitted partition 0 (node ${leader}) SIGSTOPped ${phaseMs / 1000} s, relays through the spool (3 real brokers)`,
            sent: all.length,
            counted: ids.size,
            expected: all.length,
            lost: Math.max(0, all.length - ids.size),
            recoveryMs: Date.now() - started,
            details: [
              `node ${leader} state while stopped: ${state}; most events waiting in the spool: ${figures.maxSpooled}`,
              `END-OF-MESSAGE p99: quiet ${figures.quietP99.toFixed(2)} ms (${quiet.length} answers), leader stopped ${figures.stoppedP99.toFixed(2)} ms (${stopped.length} answers), bound ${bound.toFixed(2)} ms`,
              `answered ${all.length}, distinct events on the topic ${ids.size}, records ${records} (${figures.duplicates} published twice)`,
            ],
            ok: happened && figures.stoppedP99 <= bound && ids.size === all.length,
          };
        } finally {
          // The enforcer, its relay connections and its Kafka clients, before the brokers stop.
          for (const cleanup of cleanups.reverse()) await cleanup();
        }
      },
      { realKafka: true },
    );
    return { ...result, ...figures };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
