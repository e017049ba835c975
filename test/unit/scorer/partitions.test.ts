// A tenant's events live in one partition: a window last fed from another partition is the sign that the topic's
// partition count changed under running scorers, and the scorer says so (deploy/RUNBOOK.md, "Adding partitions"),
// unless the tenant arrived where the configured count (RELAYGUARD_PARTITIONS) puts it: the runbook's procedure.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { MINUTE_MS } from '../../../services/core/policy.js';
import { createLogger } from '../../../services/platform/logger.js';
import { EpisodeDriver, START, TENANT } from '../../support/episode-driver.js';
import { waitFor } from '../../support/tether.js';

/** Three events on partition 0, then one delivered on partition 5: the log lines of info level and above. */
async function moveToPartition5(keyPartition?: (key: string) => number) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const driver = new EpisodeDriver({ logger: createLogger('info', sink), keyPartition });
  await driver.send(START, 0, 3);
  await driver.deliver();
  const quiet = lines.filter((line) => /partition/.test(String(line.msg))).length;

  await driver.send(START + MINUTE_MS, 0, 1);
  const moved = driver.batch(driver.records.length - 1);
  await driver.scorer.handleBatch({
    ...moved,
    partition: 5,
    records: moved.records.map((record) => ({ ...record, partition: 5, offset: '0' })),
  });
  await waitFor(() => lines.some((line) => /moved/.test(String(line.msg))), {
    timeoutMs: 5_000,
    description: 'the log line',
  });
  return { quiet, movedLines: lines.filter((line) => /moved/.test(String(line.msg))) };
}

describe('scorer: partition count', () => {
  it('names a tenant whose events moved to another partition', async () => {
    const { quiet, movedLines } = await moveToPartition5();
    assert.equal(quiet, 0, 'events of one partition: nothing to say');
    assert.equal(movedLines.length, 1);
    const [line] = movedLines;
    assert.deepEqual(
      { level: line!.level, tenantId: line!.tenantId, from: line!.from, to: line!.to },
      { level: 50, tenantId: TENANT, from: 0, to: 5 },
    );
    assert.match(String(line!.msg), /Adding partitions/);
  });

  it('a move to the partition RELAYGUARD_PARTITIONS gives the tenant is an info line, not the error', async () => {
    const { movedLines } = await moveToPartition5(() => 5);
    assert.equal(movedLines.length, 1);
    assert.deepEqual(
      { level: movedLines[0]!.level, from: movedLines[0]!.from, to: movedLines[0]!.to },
      { level: 30, from: 0, to: 5 },
    );
  });

  it('a move elsewhere than the configured count says is the error', async () => {
    const { movedLines } = await moveToPartition5(() => 3);
    assert.deepEqual(
      movedLines.map((line) => line.level),
      [50],
    );
  });
});
