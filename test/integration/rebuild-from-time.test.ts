// rebuild-windows reads from the broker's offsets for its start time, partition by partition: on one real Kafka
// node, older records in the topic are not read, every record after the start is counted exactly once, by one
// process and by two that split the partitions (--partitions). The same on three nodes, whose partitions have
// different leaders: `npm run chaos -- --only rebuild-3-nodes` (a three-node cluster takes minutes to start here).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rebuildFromTime } from '../chaos/rebuild-rows.js';

describe('rebuild-windows from a start time, partition by partition', { concurrency: false }, () => {
  it('one Kafka node: reads none of the older records and counts each later record once', async (t) => {
    const result = await rebuildFromTime(1, 4_000, 1_500);
    for (const line of result.details) t.diagnostic(line);
    for (const { args, summary } of result.runs) {
      assert.equal(summary.skippedBeforeFrom, 0, `${args}: no record read stamped before the start`);
      assert.equal(summary.missing, 0, `${args}: every record of the ranges read`);
      assert.ok(summary.partitions.length > 0, `${args}: partitions read`);
    }
    assert.equal(result.runs[0]!.summary.records, 4_000);
    assert.equal(result.runs[1]!.summary.records + result.runs[2]!.summary.records, 4_000);
    assert.deepEqual(
      { lost: result.lost, duplicates: result.duplicates, windows: result.windowsDiffering },
      { lost: 0, duplicates: 0, windows: 0 },
    );
    assert.equal(result.decisionsWrong, 0);
    assert.ok(result.ok);
  });
});
