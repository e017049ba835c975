// The stalled-leader row, short: on three real Kafka nodes the leader of a message-submitted partition is stopped
// (SIGSTOP) for 5 s while relays send END-OF-MESSAGE through an enforcer with the spool; their p99 stays within the
// quiet phase's bound and every answered message is one event on the topic. `npm run chaos -- --only
// stalled-leader` runs it with the 15 s stop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stalledLeader, unchangedBound } from '../chaos/stalled-leader-rows.js';

describe('stalled leader (short)', () => {
  it('a partition leader stopped 5 s: relays answered as in the quiet phase, no event lost', async (t) => {
    const result = await stalledLeader(5_000);
    for (const line of result.details) t.diagnostic(line);
    assert.ok(result.maxSpooled > 0, 'events waited in the spool while the leader was stopped');
    assert.ok(result.stoppedP99 <= unchangedBound(result.quietP99), `p99 ${result.stoppedP99} ms`);
    assert.equal(result.onTopic, result.answered, 'each answered message one event on the topic');
    assert.ok(result.ok, result.details.join('; '));
  });
});
