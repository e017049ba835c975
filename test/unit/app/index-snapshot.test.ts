// Issue 23, "a replica starts from a snapshot and catches up from its offset": an enforcer's directory feed writes
// its index with the offsets it reflects (RELAYGUARD_SNAPSHOT_DIR), and a feed started from that snapshot reads
// only what was written after it, yet answers as an index that read every record. A snapshot that cannot be used
// (cut short, altered, another format, offsets the topics no longer have) is refused with the reason, and the
// enforcer reads the topics from the start.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { blockEvent, stateRecord, tenantAddress, tenantChanges, tenantId } from '../../../bench/workload.js';
import { embeddedAdapters } from '../../../services/app/adapters.js';
import { type MaterializedDirectory, startDirectoryFeed } from '../../../services/app/directory-feed.js';
import { readIndexSnapshot, writeIndexSnapshot } from '../../../services/app/index-snapshot.js';
import { startRuntime } from '../../../services/app/runtime.js';
import type { DirectoryEvent } from '../../../services/core/directory.js';
import { EnforcerIndex } from '../../../services/core/enforcer-index.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { loadConfig } from '../../../services/platform/config.js';
import { createLogger, silentLogger } from '../../../services/platform/logger.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { Metrics } from '../../../services/platform/metrics.js';
import type { EventLog } from '../../../services/platform/ports.js';

const codec = new EmbeddedCodec();
const directories: string[] = [];
after(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function snapshotDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'relayguard-snapshot-'));
  directories.push(directory);
  return directory;
}

async function publish(log: EventLog, changes: readonly DirectoryEvent[]): Promise<void> {
  for (const change of changes) {
    const { topic, key } = stateRecord(change);
    await log.publish(topic, [{ key, value: await codec.encode(topic as never, change.event as never) }]);
  }
}

const fleet = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, n) => from + n).flatMap((i): DirectoryEvent[] => [
    ...tenantChanges(i),
    ...(i % 10 === 0 ? [{ kind: 'tenant-block', event: blockEvent(i) } as const] : []),
  ]);

/** The index, counting the records the feed hands it. */
function counted(index: EnforcerIndex): MaterializedDirectory & { applied: number } {
  return {
    applied: 0,
    apply(change) {
      this.applied++;
      index.apply(change);
    },
    applyTombstone(kind, key) {
      this.applied++;
      index.applyTombstone(kind, key);
    },
    get blockedCount() {
      return index.blockedCount;
    },
    get monitorBlockedCount() {
      return index.monitorBlockedCount;
    },
    snapshot: () => index.snapshot(),
  };
}

async function feedUntilCaughtUp(
  log: EventLog,
  directory: MaterializedDirectory,
  options: Pick<Parameters<typeof startDirectoryFeed>[0], 'startOffsets' | 'snapshots'>,
): Promise<void> {
  const feed = await startDirectoryFeed({
    log,
    codec,
    directory,
    logger: silentLogger,
    metrics: new Metrics({ processMetrics: false }),
    ...options,
  });
  await feed.caughtUp;
  await feed.stop();
}

/** The answers an enforcer gives for the tenants' own addresses and senders. */
function answers(index: EnforcerIndex, tenants: number): string[] {
  return Array.from({ length: tenants }, (_, i) => {
    const client = index.resolveByAddress(tenantAddress(i));
    const registered = index.acceptedDomain(tenantId(i), `${tenantId(i)}-mail.example`);
    return `${client?.tenantId}/${client?.connector.connectorId}/${client?.connector.enabled} ${registered?.matchSubdomains} ${index.tenant(tenantId(i))?.block?.blockId}`;
  });
}

describe('the enforcer index snapshot', () => {
  it('lets a feed read on from the offsets it reflects and answer as one that read every record', async () => {
    const directory = await snapshotDirectory();
    const log = new MemoryEventLog({ clock: new ManualClock(0), partitions: 3 });
    await publish(log, fleet(0, 200));
    const first = counted(new EnforcerIndex());
    await feedUntilCaughtUp(log, first, { snapshots: { directory, intervalMs: 600_000 } });

    // While it is down: new tenants, a connector moved to another tenant's old range, a domain removed.
    const later: DirectoryEvent[] = [...fleet(200, 260)];
    const moved = tenantChanges(3)[2]!;
    if (moved.kind !== 'connector') throw new Error('the third change is the connector');
    later.push({
      kind: 'connector',
      event: { ...moved.event, senderIpRanges: ['192.0.2.0/24'], eventId: 'moved' },
    });
    const taken = tenantChanges(7)[2]!;
    if (taken.kind !== 'connector') throw new Error('the third change is the connector');
    later.push({ kind: 'connector', event: { ...taken.event, senderIpRanges: moved.event.senderIpRanges } });
    const removed = tenantChanges(5)[1]!;
    if (removed.kind !== 'accepted-domain') throw new Error('the second change is a domain');
    later.push({
      kind: 'accepted-domain',
      event: { ...removed.event, change: 'REMOVED', eventId: 'removed' },
    });
    await publish(log, later);

    const snapshot = await readIndexSnapshot(directory);
    assert.ok(snapshot, 'the feed wrote a snapshot when it stopped');
    const restored = counted(snapshot.index);
    await feedUntilCaughtUp(log, restored, { startOffsets: snapshot.offsets });
    const blocks = log.records(Topics.tenantBlocks).length;
    const laterState = later.filter((change) => change.kind !== 'tenant-block').length;
    assert.equal(restored.applied, laterState + blocks, 'what came after the snapshot, and the blocks again');

    const whole = await everything(log);
    assert.deepEqual(answers(snapshot.index, 260), answers(whole, 260));
    assert.equal(snapshot.index.blockedCount, whole.blockedCount);
    assert.equal(snapshot.index.resolveByAddress(tenantAddress(3))?.tenantId, tenantId(7));
  });

  it('is refused with the reason when cut short, altered or of another format', async () => {
    const directory = await snapshotDirectory();
    const index = new EnforcerIndex();
    for (let i = 0; i < 50; i++) for (const change of tenantChanges(i)) index.apply(change);
    await writeIndexSnapshot(directory, index.snapshot(), [], 0);
    const file = join(directory, 'enforcer-index.snapshot');
    const good = await readFile(file);
    assert.deepEqual(answers((await readIndexSnapshot(directory))!.index, 50), answers(index, 50));

    await writeFile(file, good.subarray(0, good.length - 10));
    await assert.rejects(readIndexSnapshot(directory), /cut short/);
    const altered = Buffer.from(good);
    altered[altered.length - 100]! ^= 0xff;
    await writeFile(file, altered);
    await assert.rejects(readIndexSnapshot(directory), /does not match its checksum/);
    await writeFile(file, Buffer.from(good.toString('latin1').replace('"format":1', '"format":9'), 'latin1'));
    await assert.rejects(readIndexSnapshot(directory), /format 9, this version reads format 1/);
  });

  it('that cannot be used leaves an enforcer reading the topics from the start, saying why', async () => {
    for (const spoil of ['altered', 'offsets beyond the ends'] as const) {
      const directory = await snapshotDirectory();
      const config = loadConfig({ RELAYGUARD_SNAPSHOT_DIR: directory });
      const adapters = embeddedAdapters(config, new ManualClock(0));
      await publish(adapters.log, fleet(0, 30));
      const index = new EnforcerIndex();
      for (const change of fleet(0, 10)) index.apply(change);
      const offsets = [{ topic: Topics.connectors, partition: 0, offset: '1000' }];
      await writeIndexSnapshot(directory, index.snapshot(), spoil === 'altered' ? [] : offsets, 0);
      if (spoil === 'altered') {
        const file = join(directory, 'enforcer-index.snapshot');
        const bytes = await readFile(file);
        bytes[bytes.length - 1]! ^= 0xff;
        await writeFile(file, bytes);
      }
      const lines: string[] = [];
      const runtime = await startRuntime(config, {
        services: ['enforcer'],
        logger: createLogger('info', { write: (line: string) => lines.push(line) }),
        adapters,
        metrics: new Metrics({ processMetrics: false }),
      });
      await runtime.ready;
      const warning = lines.map((line) => JSON.parse(line)).find((line) => line.level === 40);
      assert.match(
        warning?.msg ?? '',
        spoil === 'altered'
          ? /cannot be used; reading the state topics from the start/
          : /does not match the state topics/,
        spoil,
      );
      assert.deepEqual(
        answers(runtime.directory as EnforcerIndex, 30),
        answers(await everything(adapters.log), 30),
      );
      await runtime.stop();
    }
  });
});

async function everything(log: EventLog): Promise<EnforcerIndex> {
  const index = new EnforcerIndex();
  await feedUntilCaughtUp(log, index, {});
  return index;
}
