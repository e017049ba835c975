// The crash test (the short chaos run): `relayguard scorer` as its own process on the mock Kafka cluster, the
// Schema Registry double and a real Redis, while a producer sends a known set of events — killed with SIGKILL at
// random points and restarted; its Redis connections cut mid-batch; a broker set down and back up. After each,
// the windows in Redis and the block decisions on the topic equal those of an uninterrupted run of the pure fold
// over the same events: nothing lost, nothing counted twice, no wrong decision, recovery within a bound.
// `npm run chaos` runs the whole matrix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertExactRun } from '../chaos/assertions.js';
import {
  brokerDownUp,
  RECOVERY_BOUND_MS,
  redisConnectionCut,
  runScenario,
  type ScenarioResult,
  scorerKilled,
} from '../chaos/scenarios.js';

function assertSurvived(t: { diagnostic(message: string): void }, result: ScenarioResult): void {
  assertExactRun(t, result);
  assert.ok(result.recoveryMs <= RECOVERY_BOUND_MS, `recovered in ${result.recoveryMs} ms`);
}

describe('chaos (short): the scorer loses nothing and counts nothing twice', { concurrency: false }, () => {
  it('scorer killed with SIGKILL at random points while 50,000 events flow, restarted each time', async (t) => {
    assertSurvived(t, await runScenario(scorerKilled(3, 50_000), 11));
  });

  it('Redis connections cut mid-batch (CLIENT KILL from a second connection)', async (t) => {
    assertSurvived(t, await runScenario(redisConnectionCut(8, 8_000), 12));
  });

  it('a Kafka broker set down and back up', async (t) => {
    assertSurvived(t, await runScenario(brokerDownUp(8_000), 13));
  });
});
