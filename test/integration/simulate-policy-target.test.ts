// `relayguard simulate --target policy://…` drives a relayguard through its policy server as a relay fleet would:
// here the relayguard is the embedded pipeline with its policy server, in this process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runPolicySimulation } from '../../services/cli/simulation/policy-target.js';
import { adminDirectory } from '../../services/cli/simulation/run.js';
import { Topics } from '../../services/core/topics.js';
import { type EnforcementHarness, readTopic, startEnforcement } from '../support/enforcement.js';
import { OPERATOR } from '../support/pipeline-driver.js';

describe('simulate against a policy server', () => {
  let harness: EnforcementHarness;

  before(async () => {
    harness = await startEnforcement();
  });
  after(() => harness.stop());

  it('onboards the fleet, blocks the compromised tenant, and rejects only its unregistered mail', async () => {
    const minutes: number[] = [];
    const summary = await runPolicySimulation(
      {
        host: harness.policy.host,
        port: harness.policy.port,
        connections: 4,
        tenants: 4,
        forwarders: 2,
        minutes: 12,
        ratePerMinute: 10,
        spamPerMinute: 60,
        compromiseMinute: 4,
        seed: 3,
        start: harness.driver.clock.now(),
      },
      adminDirectory(harness.driver.runtime.admin!, OPERATOR),
      (minute) => minutes.push(minute),
    );
    assert.deepEqual(
      minutes,
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.equal(summary.ok, true, JSON.stringify(summary, null, 2));
    assert.equal(summary.messages, 7 * 10 * 12 + 8 * 60);
    assert.equal(summary.replies.ordinary.rejected + summary.replies.forwarder.rejected, 0);
    assert.ok(summary.replies.compromised.rejected > 0);
    // The distinct-domains rule's U of 100 counts the tenant's few legitimate partner messages beside the spam.
    const spamBeforeBlock = summary.spamAcceptedBeforeBlock;
    assert.ok(spamBeforeBlock !== null && spamBeforeBlock >= 90, String(spamBeforeBlock));
    assert.equal(
      summary.relayAnswers.unregisteredSender,
      '550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains',
    );
    assert.equal(summary.relayAnswers.registeredSender, 'DUNNO');

    // Every accepted message became one event; every rejected one did not.
    const accepted = Object.values(summary.replies).reduce((sum, counts) => sum + counts.accepted, 0);
    assert.equal((await readTopic(harness.driver, Topics.messageSubmitted)).length, accepted);
    assert.equal(summary.requests, summary.messages + accepted);
  });
});
