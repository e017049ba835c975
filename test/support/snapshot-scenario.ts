// The enforcer index snapshot's scenario, on any event log (test/unit/app/index-snapshot.test.ts on the memory log,
// test/integration/index-snapshot-kafka.test.ts on the real broker): a feed writes the snapshot when it stops,
// records are written while it is down, and a feed started from the snapshot reads only those (and the blocks
// again), yet answers as an index that read every record.
import assert from 'node:assert/strict';
import { blockEvent, stateRecord, tenantAddress, tenantChanges, tenantId } from '../../bench/workload.js';
import { type MaterializedDirectory, startDirectoryFeed } from '../../services/app/directory-feed.js';
import { readIndexSnapshot } from '../../services/app/index-snapshot.js';
import type { DirectoryEvent } from '../../services/core/directory.js';
import { EnforcerIndex } from '../../services/core/enforcer-index.js';
import { EmbeddedCodec } from '../../services/platform/codec/embedded-codec.js';
import { silentLogger } from '../../services/platform/logger.js';
import { Metrics } from '../../services/platform/metrics.js';
import type { EventLog } from '../../services/platform/ports.js';

const codec = new EmbeddedCodec();

export async function publish(log: EventLog, changes: readonly DirectoryEvent[]): Promise<void> {
  for (const change of changes) {
    const { topic, key } = stateRecord(change);
    await log.publish(topic, [{ key, value: await codec.encode(topic as never, change.event as never) }]);
  }
}

/** Tenants `from` to `to` (excluded), one in ten blocked. */
export const fleet = (from: number, to: number) =>
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
    trim: () => index.trim(),
  };
}

export async function feedUntilCaughtUp(
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

/** An index that read every record of the log. */
export async function everything(log: EventLog): Promise<EnforcerIndex> {
  const index = new EnforcerIndex();
  await feedUntilCaughtUp(log, index, {});
  return index;
}

/** The answers an enforcer gives for the tenants' own addresses and senders. */
export function answers(index: EnforcerIndex, tenants: number): string[] {
  return Array.from({ length: tenants }, (_, i) => {
    const client = index.resolveByAddress(tenantAddress(i));
    const registered = index.acceptedDomain(tenantId(i), `${tenantId(i)}-mail.example`);
    return `${client?.tenantId}/${client?.connector.connectorId}/${client?.connector.enabled} ${registered?.matchSubdomains} ${index.tenant(tenantId(i))?.block?.blockId}`;
  });
}

/** The scenario on an empty log whose state topics exist; `directory` is the snapshot's (empty) directory. */
export async function snapshotCatchUp(log: EventLog, directory: string): Promise<void> {
  const before = fleet(0, 200);
  await publish(log, before);
  await feedUntilCaughtUp(log, counted(new EnforcerIndex()), {
    snapshots: { directory, intervalMs: 600_000 },
  });

  // While it is down: new tenants, a connector moved and its old range taken by another tenant, a domain removed.
  const later: DirectoryEvent[] = [...fleet(200, 260)];
  const [moved, taken, removed] = [tenantChanges(3)[2]!, tenantChanges(7)[2]!, tenantChanges(5)[1]!];
  if (moved.kind !== 'connector' || taken.kind !== 'connector' || removed.kind !== 'accepted-domain') {
    throw new Error('tenantChanges: two domains, then the connector');
  }
  later.push(
    { kind: 'connector', event: { ...moved.event, senderIpRanges: ['192.0.2.0/24'], eventId: 'moved' } },
    { kind: 'connector', event: { ...taken.event, senderIpRanges: moved.event.senderIpRanges } },
    { kind: 'accepted-domain', event: { ...removed.event, change: 'REMOVED', eventId: 'removed' } },
  );
  await publish(log, later);

  const snapshot = await readIndexSnapshot(directory);
  assert.ok(snapshot, 'the feed wrote a snapshot when it stopped');
  const restored = counted(snapshot.index);
  await feedUntilCaughtUp(log, restored, { startOffsets: snapshot.offsets });
  const blocks = [...before, ...later].filter((change) => change.kind === 'tenant-block').length;
  const laterState = later.filter((change) => change.kind !== 'tenant-block').length;
  assert.equal(restored.applied, laterState + blocks, 'what came after the snapshot, and the blocks again');

  const whole = await everything(log);
  assert.deepEqual(answers(snapshot.index, 260), answers(whole, 260));
  assert.equal(snapshot.index.blockedCount, whole.blockedCount);
  assert.equal(snapshot.index.resolveByAddress(tenantAddress(3))?.tenantId, tenantId(7));
}
