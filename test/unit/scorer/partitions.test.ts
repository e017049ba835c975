// A tenant's events live in one partition: a window last fed from another partition is the sign that the topic's
// partition count changed under running scorers, and the scorer says so (deploy/RUNBOOK.md, "Adding partitions").
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { MINUTE_MS } from '../../../services/core/policy.js';
import { createLogger } from '../../../services/platform/logger.js';
import { EpisodeDriver, START, TENANT } from '../../support/episode-driver.js';
import { waitFor } from '../../support/tether.js';

describe('scorer: partition count', () => {
  it('names a tenant whose events moved to another partition', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const driver = new EpisodeDriver({ logger: createLogger('error', sink) });
    await driver.send(START, 0, 3);
    await driver.deliver();
    assert.equal(lines.length, 0, 'events of one partition: nothing to say');

    await driver.send(START + MINUTE_MS, 0, 1);
    const moved = driver.batch(driver.records.length - 1);
    await driver.scorer.handleBatch({
      ...moved,
      partition: 5,
      records: moved.records.map((record) => ({ ...record, partition: 5, offset: '0' })),
    });
    await waitFor(() => lines.length > 0, { timeoutMs: 5_000, description: 'the log line' });
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { tenantId: lines[0]!.tenantId, from: lines[0]!.from, to: lines[0]!.to },
      { tenantId: TENANT, from: 0, to: 5 },
    );
    assert.match(String(lines[0]!.msg), /Adding partitions/);
  });
});
