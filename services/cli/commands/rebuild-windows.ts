// `relayguard rebuild-windows`: after Redis lost its data, replay the message-submitted topic (what retention
// still holds) through the scorer itself and write the windows back. Run it with the scorers stopped: it
// replays up to the end offsets it found at start, and the scorers then resume from their committed offsets,
// skipping what the rebuilt watermarks already hold.
//
// The replay is the scorer's own batch handler on an in-memory window store: the same decoding, validation and
// fold, which reads the tenant-blocks state as the live scorer does: the generation the latest unblock started
// (evidence an operator cleared is not counted again) and the block in force (not decided again). Poison records were dead-lettered when they were first consumed: the replay
// skips them without publishing them again. A block the replay decides that is not in force yet is published,
// with the same deterministic id the live scorer gives it.
import { SingleBar } from 'cli-progress';
import { type Adapters, closeAdapters, productionAdapters } from '../../app/adapters.js';
import { startDirectoryFeed } from '../../app/directory-feed.js';
import { TenantDirectory } from '../../core/directory.js';
import { Topics } from '../../core/topics.js';
import { systemClock } from '../../platform/clock.js';
import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { MemoryWindowStore } from '../../platform/memory/memory-window-store.js';
import { Metrics } from '../../platform/metrics.js';
import type { EventLog, RecordBatch, WindowStore, WindowWrite } from '../../platform/ports.js';
import { Scorer } from '../../scorer/scorer.js';
import { ExitCode } from '../exit-codes.js';
import { renderTable } from '../table.js';

export interface RebuildOptions {
  /** Only records the broker stamped at or after this time (epoch ms); null: from the beginning. */
  readonly from: number | null;
  readonly json: boolean;
}

export interface RebuildSummary {
  readonly records: number;
  readonly skippedBeforeFrom: number;
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

async function replay(
  config: Config,
  options: RebuildOptions,
  logger: Logger,
  adapters: Adapters,
): Promise<number> {
  const started = performance.now();
  const metrics = new Metrics({ processMetrics: false });
  const directory = new TenantDirectory();
  const feed = await startDirectoryFeed({ ...adapters, directory, logger, metrics });
  await feed.caughtUp;

  const replayed = new MemoryWindowStore({ clock: systemClock, ttlMs: adapters.store.ttlMs });
  const tenants = new Set<string>();
  const store: WindowStore = {
    ttlMs: replayed.ttlMs,
    load: (ids) => replayed.load(ids),
    async save(writes) {
      for (const write of writes) tenants.add(write.tenantId);
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
  const lags = new Map<number, number>();
  let records = 0;
  let skippedBeforeFrom = 0;
  bar.start(1, 0, { tenants: 0 });
  const subscription = await adapters.log.subscribe({
    groupId: null,
    topics: [Topics.messageSubmitted],
    maxBatchSize: 500,
    handleBatch: async (batch: RecordBatch) => {
      const kept =
        options.from === null ? batch.records : batch.records.filter((r) => r.timestamp >= options.from!);
      skippedBeforeFrom += batch.records.length - kept.length;
      if (kept.length > 0) await scorer.handleBatch({ ...batch, records: kept });
      records += batch.records.length;
      lags.set(batch.partition, batch.lag);
      const left = [...lags.values()].reduce((sum, lag) => sum + lag, 0);
      bar.setTotal(records + left);
      bar.update(records, { tenants: tenants.size });
    },
  });
  await subscription.caughtUp;
  await subscription.stop();
  bar.stop();

  // Written with the stored window as the expected version: a scorer that wrote meanwhile wins, and is named.
  const ids = [...tenants];
  const rebuilt = await replayed.load(ids);
  const current = await adapters.store.load(ids);
  const writes: WindowWrite[] = ids.flatMap((tenantId) => {
    const next = rebuilt.get(tenantId);
    return next
      ? [{ tenantId, expectedVersion: current.get(tenantId)?.version ?? null, window: next.window }]
      : [];
  });
  const { conflicts } = await adapters.store.save(writes);
  await feed.stop();

  const summary: RebuildSummary = {
    records,
    skippedBeforeFrom,
    tenants: ids.length,
    written: writes.length - conflicts.length,
    conflicts,
    blocksPublished,
    seconds: (performance.now() - started) / 1000,
  };
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${renderSummary(summary)}\n`);
  return conflicts.length > 0 ? ExitCode.UNEXPECTED_RESULT : ExitCode.OK;
}

function renderSummary(summary: RebuildSummary): string {
  const rows = [
    ['records replayed', String(summary.records)],
    ['skipped (before --from)', String(summary.skippedBeforeFrom)],
    ['tenants', String(summary.tenants)],
    ['windows written', String(summary.written)],
    ['blocks published', String(summary.blocksPublished)],
    ['time', `${summary.seconds.toFixed(1)} s`],
  ];
  const table = renderTable(['', ''], rows);
  if (summary.conflicts.length === 0) return table;
  return `${table}\n${summary.conflicts.length} tenants changed while rebuilding (is a scorer running? stop the scorers first): ${summary.conflicts.slice(0, 10).join(', ')}`;
}
