// Faults of a Redis Cluster (three masters with a replica each, Debian's redis-server) while `relayguard scorer`
// runs as its own process on the mock Kafka cluster: slots resharded under load, and a master SIGKILLed while its
// replica lags, the replica promoted. After each, the windows in Redis and the block decisions equal those of an
// uninterrupted run of the pure fold, unless the configured durability permits a loss, which the last test shows
// is real. `npm run chaos -- --only cluster` runs the same rows at the matrix's scale.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExactRun } from '../chaos/assertions.js';
import {
  chaosTable,
  clusterMasterKilled,
  clusterResharded,
  runScenario,
  type ScenarioResult,
} from '../chaos/scenarios.js';

function assertExact(t: { diagnostic(message: string): void }, result: ScenarioResult): void {
  assertExactRun(t, result);
  assert.ok(result.ok, 'recovered within the bound');
}

// Enough events that the producer still runs when the fault starts, after the scorer's first commit (its
// directory slice is loaded at the partitions' first batches) and the fault's own 1.5 s.
const MASTER_KILLED_EVENTS = 24_000;

describe('Redis Cluster faults while the scorer runs', { concurrency: false }, () => {
  it('slots resharded under load: every event counted once', async (t) => {
    assertExact(t, await runScenario(clusterResharded(2, 6_000), 21));
  });

  it('a master SIGKILLed while its replica lags, with REDIS_WAIT_REPLICAS=1: nothing lost, no restart', async (t) => {
    const result = await runScenario(clusterMasterKilled(1, MASTER_KILLED_EVENTS), 22);
    assertExact(t, result);
    assert.deepEqual(result.unplannedExits, [], 'the scorer recovered without a restart');
  });

  it('the same fault with REDIS_WAIT_REPLICAS=0 loses committed events: the fault is real', async (t) => {
    const result = await runScenario(clusterMasterKilled(0, MASTER_KILLED_EVENTS), 22);
    t.diagnostic(`\n${chaosTable([result])}`);
    assert.equal(result.duplicates, 0);
    assert.ok(
      result.lost > 0,
      'acknowledged saves the replica never had were lost with their offsets committed',
    );
  });
});
