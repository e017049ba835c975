// `relayguard rebuild-windows`: after Redis lost its data, replay the part of the message-submitted topic the
// windows still need through the scorer itself and write the windows back. Run it with the scorers stopped: it
// replays up to the end offsets it found at start, and the scorers then resume from their committed offsets,
// skipping what the rebuilt watermarks already hold.
//
// A window needs the window and the grace period of events (and the clock skew the scorer accepts): each partition
// is read from the broker's offset for that time (ListOffsets by timestamp), not from the start of the retention,
// and its tenants' windows are written as soon as that partition is read; `--partitions` splits the partitions
// across processes (a tenant lives on one partition).
//
// The replay is the scorer's own batch handler on an in-memory window store: the same decoding, validation and
// fold, which reads the tenant-blocks state as the live scorer does: the generation the latest unblock started
// (evidence an operator cleared is not counted again) and the block in force (not decided again). Poison records
// were dead-lettered when they were first consumed: the replay skips them without publishing them again. A block
// the replay decides that is not in force yet is published, with the same deterministic id the live scorer gives it.
import { SingleBar } from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import { type Adapters, closeAdapters, productionAdapters, windowTtlMs } from '../../app/adapters.js';
import { startDirectoryFeed } from '../../app/directory-feed.js';
import { TenantDirectory } from '../../core/directory.js';
import { Topics } from '../../core/topics.js';
import { systemClock } from '../../platform/clock.js';
import type { Config } from '../../platform/config.js';
import {
  type PartitionRange,
  readFromTime,
  UnknownPartitionError,
} from '../../platform/kafka/time-range-reader.js';
import type { Logger } from '../../platform/logger.js';
import { MemoryWindowStore } from '../../platform/memory/memory-window-store.js';
import { Metrics } from '../../platform/metrics.js';
import type { EventLog, WindowStore, WindowWrite } from '../../platform/ports.js';
import { Scorer } from '../../scorer/scorer.js';
import { ExitCode } from '../exit-codes.js';
import { renderTable } from '../table.js';

export interface RebuildOptions {
  /** Records the broker stamped at or after this time (epoch ms); null: now less the window, grace and skew. */
  readonly from: number | null;
  /** Only these partitions of message-submitted (another process rebuilds the others); null: all. */
  readonly partitions: readonly number[] | null;
  readonly json: boolean;
}

export interface RebuildPartition {
  readonly partition: number;
  /** The broker's offset for the start time, and the log end at start: the range replayed. */
  readonly start: string;
  readonly end: string;
  readonly read: number;
}

export interface RebuildSummary {
  /** The start time (ISO 8601). */
  readonly from: string;
  readonly records: number;
  /** Records inside the ranges stamped before the start time (a producer clock behind): read, not counted. */
  readonly skippedBeforeFrom: number;
  /** Records of the ranges that were not read (retention deleted them meanwhile): the rebuild is incomplete. */
  readonly missing: number;
  readonly partitions: readonly RebuildPartition[];
  readonly tenants: number;
  readonly written: number;
  /** Tenants whose stored window changed while the rebuild ran (a scorer was running): not overwritten. */
  readonly conflicts: readonly string[];
  readonly blocksPublished: number;
  readonly seconds: number;
}

export async function rebuildWindows(
  config: Config,
  options: RebuildOptions,
  logger: Logger,
): Promise<number> {
  const adapters = productionAdapters(config, logger);
  // Kafka or Redis unreachable: kafkajs gives up after its bounded retries, and the clients are closed so that
  // the command ends with that error instead of reconnecting forever.
  return replay(config, options, logger, adapters).finally(() => closeAdapters(adapters));
}

/** The oldest record a window can still need: the window, the grace period and the clock skew accepted. */
export function rebuildStart(config: Config, now: number): number {
  return now - windowTtlMs(config) - config.maxClockSkewMs;
}

async function replay(
  config: Config,
  options: RebuildOptions,
  logger: Logger,
  adapters: Adapters,
): Promise<number> {
  const started = performance.now();
  const from = options.from ?? rebuildStart(config, Date.now());
  const metrics = new Metrics({ processMetrics: false });
  const directory = new TenantDirectory();
  const feed = await startDirectoryFeed({ ...adapters, directory, logger, metrics });
  await feed.caughtUp;

  const replayed = new MemoryWindowStore({ clock: systemClock, ttlMs: adapters.store.ttlMs });
  // The tenants each partition's records touched: written once that partition is read.
  const touched = new Map<number, Set<string>>();
  let partition = -1;
  const store: WindowStore = {
    ttlMs: replayed.ttlMs,
    load: (ids) => replayed.load(ids),
    versions: (ids) => replayed.versions(ids),
    async save(writes) {
      const tenants = touched.get(partition) ?? new Set<string>();
      for (const write of writes) tenants.add(write.tenantId);
      touched.set(partition, tenants);
      return replayed.save(writes);
    },
    close: () => replayed.close(),
  };

  let blocksPublished = 0;
  const log: EventLog = {
    async publish(topic, records) {
      if (topic === Topics.messageSubmittedDlq) return;
      if (topic === Topics.tenantBlocks) blocksPublished += records.length;
      await adapters.log.publish(topic, records);
    },
    subscribe: (subscription) => adapters.log.subscribe(subscription),
    settled: () => adapters.log.settled(),
    close: async () => {},
  };
  const scorer = new Scorer({
    log,
    codec: adapters.codec,
    store,
    directory,
    policy: config.policy,
    logger,
    metrics,
    maxClockSkewMs: config.maxClockSkewMs,
  });

  const bar = new SingleBar({
    format: 'replaying [{bar}] {percentage}% | {value}/{total} records | {tenants} tenants',
    stream: process.stderr,
    hideCursor: true,
  });
  let records = 0;
  let skippedBeforeFrom = 0;
  let tenantCount = 0;
  let written = 0;
  const conflicts: string[] = [];
  const ranges = await readFromTime(config.kafka!, logger, {
    topic: Topics.messageSubmitted,
    from,
    partitions: options.partitions,
    maxBatchSize: 500,
    onRanges: (found) =>
      bar.start(
        found.reduce((sum, r) => sum + Number(r.end - r.start), 0),
        0,
        { tenants: 0 },
      ),
    handleBatch: async (batch) => {
      const kept = batch.records.filter((record) => record.timestamp >= from);
      skippedBeforeFrom += batch.records.length - kept.length;
      partition = batch.partition;
      if (kept.length > 0) await scorer.handleBatch({ ...batch, records: kept });
      records += kept.length;
      bar.increment(batch.records.length, { tenants: tenantCount + (touched.get(partition)?.size ?? 0) });
    },
    partitionDone: async (done) => {
      const result = await writeBack(adapters.store, replayed, [...(touched.get(done) ?? [])]);
      tenantCount += result.tenants;
      written += result.written;
      conflicts.push(...result.conflicts);
      touched.delete(done);
    },
  }).catch((error: unknown) => {
    throw error instanceof UnknownPartitionError ? new InvalidArgumentError(error.message) : error;
  });
  bar.stop();
  await feed.stop();

  const summary: RebuildSummary = {
    from: new Date(from).toISOString(),
    records,
    skippedBeforeFrom,
    missing: ranges.reduce((sum, r) => sum + Number(r.end - r.start) - r.read, 0),
    partitions: ranges.map(describeRange),
    tenants: tenantCount,
    written,
    conflicts,
    blocksPublished,
    seconds: (performance.now() - started) / 1000,
  };
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${renderSummary(summary)}\n`);
  return conflicts.length > 0 || summary.missing > 0 ? ExitCode.UNEXPECTED_RESULT : ExitCode.OK;
}

/** Written with the stored window as the expected version: a scorer that wrote meanwhile wins, and is named. */
async function writeBack(
  target: WindowStore,
  replayed: WindowStore,
  ids: readonly string[],
): Promise<{ tenants: number; written: number; conflicts: readonly string[] }> {
  const rebuilt = await replayed.load(ids);
  const current = await target.load(ids);
  const writes: WindowWrite[] = ids.flatMap((tenantId) => {
    const next = rebuilt.get(tenantId);
    return next
      ? [{ tenantId, expectedVersion: current.get(tenantId)?.version ?? null, window: next.window }]
      : [];
  });
  const { conflicts } = await target.save(writes);
  return { tenants: ids.length, written: writes.length - conflicts.length, conflicts };
}

function describeRange(range: PartitionRange): RebuildPartition {
  return { partition: range.partition, start: String(range.start), end: String(range.end), read: range.read };
}

function renderSummary(summary: RebuildSummary): string {
  const rows = [
    ['from', summary.from],
    ['partitions', summary.partitions.map((p) => p.partition).join(',')],
    ['records replayed', String(summary.records)],
    ['skipped (stamped before from)', String(summary.skippedBeforeFrom)],
    ['tenants', String(summary.tenants)],
    ['windows written', String(summary.written)],
    ['blocks published', String(summary.blocksPublished)],
    ['time', `${summary.seconds.toFixed(1)} s`],
  ];
  const lines = [renderTable(['', ''], rows)];
  if (summary.missing > 0)
    lines.push(
      `${summary.missing} records of the ranges were not read (did retention delete them meanwhile?): the windows are incomplete`,
    );
  if (summary.conflicts.length > 0)
    lines.push(
      `${summary.conflicts.length} tenants changed while rebuilding (is a scorer running? stop the scorers first): ${summary.conflicts.slice(0, 10).join(', ')}`,
    );
  return lines.join('\n');
}
