// Issue 23, "a replica starts from a snapshot and catches up from its offset": an enforcer's directory feed writes
// its index with the offsets it reflects (RELAYGUARD_SNAPSHOT_DIR), and a feed started from that snapshot reads
// only what was written after it, yet answers as an index that read every record. A snapshot that cannot be used
// (cut short, altered, another format, offsets the topics no longer have) is refused with the reason, and the
// enforcer reads the topics from the start.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { tenantChanges } from '../../../bench/workload.js';
import { embeddedAdapters } from '../../../services/app/adapters.js';
import { startDirectoryFeed } from '../../../services/app/directory-feed.js';
import { readIndexSnapshot, writeIndexSnapshot } from '../../../services/app/index-snapshot.js';
import { startRuntime } from '../../../services/app/runtime.js';
import { EnforcerIndex } from '../../../services/core/enforcer-index.js';
import { Topics } from '../../../services/core/topics.js';
import { ManualClock } from '../../../services/platform/clock.js';
import { EmbeddedCodec } from '../../../services/platform/codec/embedded-codec.js';
import { loadConfig } from '../../../services/platform/config.js';
import { createLogger } from '../../../services/platform/logger.js';
import { MemoryEventLog } from '../../../services/platform/memory/memory-event-log.js';
import { Metrics } from '../../../services/platform/metrics.js';
import { answers, everything, fleet, publish, snapshotCatchUp } from '../../support/snapshot-scenario.js';
import { spawnTethered, waitFor } from '../../support/tether.js';

const directories: string[] = [];
after(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

async function snapshotDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'relayguard-snapshot-'));
  directories.push(directory);
  return directory;
}

describe('the enforcer index snapshot', () => {
  it('lets a feed read on from the offsets it reflects and answer as one that read every record', async () => {
    await snapshotCatchUp(
      new MemoryEventLog({ clock: new ManualClock(0), partitions: 3 }),
      await snapshotDirectory(),
    );
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

  it('written again after a write was killed midway leaves no temporary file behind', async () => {
    // A kill or a stop timeout can cut an enforcer's write short (1.6 GiB at 10M tenants): its temporary file must
    // not stay beside every later snapshot.
    const directory = await snapshotDirectory();
    const source = (path: string) => pathToFileURL(join(import.meta.dirname, '../../..', path)).href;
    // 256 MiB: the write is still going when its temporary file is seen.
    const script = `
      const { SnapshotParts } = await import('${source('services/core/snapshot-parts.ts')}');
      const { writeIndexSnapshot } = await import('${source('services/app/index-snapshot.ts')}');
      const parts = new SnapshotParts();
      parts.arrays.set('big', new Uint8Array(1 << 28).fill(7));
      await writeIndexSnapshot(${JSON.stringify(directory)}, parts, [], 0);`;
    const writer = await spawnTethered(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ]);
    await waitFor(async () => (await readdir(directory)).some((name) => name.endsWith('.tmp')), {
      timeoutMs: 30_000,
      intervalMs: 5,
      description: 'the write to begin',
    });
    writer.child.kill('SIGKILL');
    await writer.exited;

    const index = new EnforcerIndex();
    for (const change of tenantChanges(0)) index.apply(change);
    await writeIndexSnapshot(directory, index.snapshot(), [], 0);
    assert.deepEqual(await readdir(directory), ['enforcer-index.snapshot']);
    assert.deepEqual(answers((await readIndexSnapshot(directory))!.index, 1), answers(index, 1));
  });

  it('is given up when a stop has waited long enough for it, and the last one written stands', async () => {
    // relayguard exits 25 s after a stop begins: a write that would outlast that (a large index, a slow disk) is given up.
    const directory = await snapshotDirectory();
    const log = new MemoryEventLog({ clock: new ManualClock(0), partitions: 3 });
    await publish(log, fleet(0, 10));
    const last = new EnforcerIndex();
    for (const change of fleet(0, 5)) last.apply(change);
    await writeIndexSnapshot(directory, last.snapshot(), [], 0);
    const lastBytes = await readFile(join(directory, 'enforcer-index.snapshot'));

    const index = new EnforcerIndex();
    const lines: string[] = [];
    const feed = await startDirectoryFeed({
      log,
      codec: new EmbeddedCodec(),
      directory: {
        apply: (change) => index.apply(change),
        applyTombstone: (kind, key) => index.applyTombstone(kind, key),
        blockedCount: 0,
        monitorBlockedCount: 0,
        // 512 MiB more: a write that takes longer than the stop waits.
        snapshot: () => {
          const parts = index.snapshot();
          parts.arrays.set('ballast', new Uint8Array(1 << 29));
          return parts;
        },
      },
      logger: createLogger('info', { write: (line: string) => lines.push(line) }),
      metrics: new Metrics({ processMetrics: false }),
      snapshots: { directory, intervalMs: 600_000, stopWaitMs: 50 },
    });
    await feed.caughtUp;
    await feed.stop();
    const logged = lines.map((line) => JSON.parse(line).msg);
    assert.ok(
      logged.some((msg) => /gave up writing the index snapshot/.test(msg)),
      logged.join('; '),
    );
    assert.deepEqual(await readdir(directory), ['enforcer-index.snapshot']);
    assert.ok(lastBytes.equals(await readFile(join(directory, 'enforcer-index.snapshot'))));
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
