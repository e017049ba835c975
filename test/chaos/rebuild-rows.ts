// `relayguard rebuild-windows` from a start time, on real Kafka (one node, or three whose partitions have different
// leaders): records the broker stamped before the start time are in the topic and must not be read; every record
// after it is counted exactly once, by one process and by two processes that split the partitions. The topic
// stamps records with the broker's clock (LogAppendTime), so the old records are written first, then the start
// time passes, then the new ones (the default start, now less the window and grace, is tested in
// test/unit/cli/rebuild-start.test.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RebuildSummary } from '../../services/cli/commands/rebuild-windows.js';
import { Topics } from '../../services/core/topics.js';
import { withKafkaAdmin } from '../support/kafka-broker.js';
import {
  type ChaosStack,
  compare,
  isExact,
  PARTITIONS,
  produce,
  realKafka,
  reference,
  workload,
} from './harness.js';
import { onChaosStack, type ScenarioResult, sleep } from './scenarios.js';

/** Between the old records and the start time, and between the start time and the new records. */
const MARGIN_MS = 500;

/** The rebuild in its own process; resolves with its JSON summary (a non-zero exit rejects). */
async function rebuild(stack: ChaosStack, args: readonly string[]): Promise<RebuildSummary> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'services/cli/main.ts', 'rebuild-windows', '--json', ...args],
    { env: { ...process.env, ...stack.env, RELAYGUARD_LOG_LEVEL: 'warn' }, timeout: 180_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RebuildSummary;
}

/** Records in the topic (log end less log start, over the partitions), and the partitions' leaders. */
function topicState(stack: ChaosStack): Promise<{ records: number; leaders: number[] }> {
  return withKafkaAdmin(realKafka(stack), async (admin) => {
    const offsets = await admin.fetchTopicOffsets(Topics.messageSubmitted);
    const { topics } = await admin.fetchTopicMetadata({ topics: [Topics.messageSubmitted] });
    return {
      records: offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0),
      leaders: (topics[0]?.partitions ?? []).map((p) => p.leader),
    };
  });
}

export interface RebuildFromTimeResult extends ScenarioResult {
  /** Each run's summary: one process, then two splitting the partitions. */
  readonly runs: readonly { readonly args: string; readonly summary: RebuildSummary }[];
  readonly oldRecords: number;
  readonly leaders: readonly number[];
}

/**
 * `old` records, then the start time, then `events`; Redis empty (no scorer ran). The old events are of the same
 * tenants and event times, so a rebuild that counted one shows it in the windows. The rebuild from the start time
 * must read exactly the `events` (none of the old), and its windows and blocks must equal the reference of the
 * `events` alone; after FLUSHALL, two processes with `--partitions` halves again.
 */
export async function rebuildFromTime(
  brokers: number,
  events = 10_000,
  old = 3_000,
): Promise<RebuildFromTimeResult> {
  const load = workload(events, 2);
  const ref = reference(load);
  const runs: { args: string; summary: RebuildSummary }[] = [];
  let state = { records: 0, leaders: [] as number[] };
  const result = await onChaosStack(
    load.tenants,
    async (stack) => {
      await produce(stack, workload(old, 99).events, 20_000);
      await sleep(MARGIN_MS);
      const from = ['--from', new Date().toISOString()];
      await sleep(MARGIN_MS);
      const sent = await produce(stack, load.events, 20_000);
      state = await topicState(stack);
      if (state.records !== old + events)
        throw new Error(`the topic holds ${state.records} records, not the ${old + events} produced`);
      const started = Date.now();
      runs.push({ args: '', summary: await rebuild(stack, from) });
      const recoveryMs = Date.now() - started;
      const whole = await compare(stack, load, ref);
      await stack.redisAdmin.flushall();
      const half = Math.floor(PARTITIONS / 2);
      const halves = [`0-${half - 1}`, `${half}-${PARTITIONS - 1}`];
      const split = await Promise.all(halves.map((list) => rebuild(stack, [...from, '--partitions', list])));
      for (const [i, list] of halves.entries())
        runs.push({ args: `--partitions ${list}`, summary: split[i]! });
      const halved = await compare(stack, load, ref);
      const readEach = (summaries: readonly RebuildSummary[]) =>
        summaries.reduce((sum, s) => sum + s.records + s.skippedBeforeFrom + s.missing, 0);
      const exactReads = readEach([runs[0]!.summary]) === sent && readEach(split) === sent;
      return {
        fault: `rebuild-windows --from a time, ${brokers} Kafka node(s); ${old} older records in the topic`,
        sent,
        recoveryMs,
        ...halved,
        duplicates: whole.duplicates + halved.duplicates,
        lost: whole.lost + halved.lost,
        windowsDiffering: whole.windowsDiffering + halved.windowsDiffering,
        decisionsWrong: whole.decisionsWrong + halved.decisionsWrong,
        details: [
          ...runs.map(
            ({ args, summary }) =>
              `rebuild-windows ${args || '(all partitions)'}: ${summary.records} records, ${summary.skippedBeforeFrom} skipped, ${summary.missing} missing, from ${summary.from}, ranges ${summary.partitions.map((p) => `${p.partition}:${p.start}-${p.end}`).join(' ')}`,
          ),
          ...whole.details,
          ...halved.details,
        ],
        ok: exactReads && isExact(whole) && isExact(halved),
      };
    },
    { realKafka: true, brokers },
  );
  return { ...result, runs, oldRecords: old, leaders: state.leaders };
}
