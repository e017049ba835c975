// Which relay a policy request comes from, and what one relay's connection may cost the others: the relay is the
// address of its connection (policy_context only names it), and a relay that pipelines a flood and never reads
// its replies is held to its own share of the server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PolicyClient } from '../../services/cli/simulation/policy-client.js';
import { Topics } from '../../services/core/topics.js';
import { startPolicyServer } from '../../services/enforcer/postfix/server.js';
import { loadConfig } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import {
  blockAfter,
  type EnforcementHarness,
  endOfMessage,
  metricValue,
  onboard,
  rcpt,
  readTopic,
  startEnforcement,
} from '../support/enforcement.js';
import { waitFor } from '../support/tether.js';

const TENANT = { tenantId: 'acme', acceptedDomain: 'acme.example', senderIpRange: '192.0.2.0/24' } as const;

describe('relay identity', () => {
  let harness: EnforcementHarness;

  before(async () => {
    harness = await startEnforcement();
    await onboard(harness.driver, { ...TENANT, policy: blockAfter(1_000) });
  });
  after(() => harness.stop());

  it('a relay naming itself as another relay neither collides with its event ids nor hides its own address', async () => {
    // Two allowlisted relays (127.0.0.0/8 by default), both saying they are mx-b, with the same queue id.
    const real = await PolicyClient.connect(harness.policy.host, harness.policy.port, '127.0.0.2');
    const forger = await PolicyClient.connect(harness.policy.host, harness.policy.port, '127.0.0.3');
    try {
      const named = (sender: string) => ({
        ...endOfMessage('192.0.2.25', sender, '4F2A1C03B7'),
        policy_context: 'mx-b.example',
      });
      assert.equal(await forger.request(named('forged@elsewhere.example')), 'DUNNO');
      assert.equal(await real.request(named('it@acme.example')), 'DUNNO');
    } finally {
      real.close();
      forger.close();
    }
    const events = await readTopic(harness.driver, Topics.messageSubmitted);
    assert.deepEqual(
      events.map((event) => [event.eventId, event.relayHost, event.envelopeSenderDomain]).sort(),
      [
        ['mx-b.example[127.0.0.2]/4F2A1C03B7', 'mx-b.example[127.0.0.2]', 'acme.example'],
        ['mx-b.example[127.0.0.3]/4F2A1C03B7', 'mx-b.example[127.0.0.3]', 'elsewhere.example'],
      ],
    );
    // The real relay's message is counted, not dropped as the forger's published again.
    await harness.driver.settle();
    const consumed = (outcome: string) =>
      metricValue(harness.driver, 'relayguard_events_consumed_total', {
        topic: Topics.messageSubmitted,
        outcome,
      });
    assert.equal(await consumed('republished'), 0);
    assert.equal(await consumed('counted'), 2);
  });
});

describe('one relay connection, its own share', () => {
  it('holds at most maxPipelined requests of a client that pipelines a flood and never reads, and answers the others between its turns', async () => {
    const maxPipelined = 32;
    const harness = await startEnforcement({ policy: { maxPipelined } });
    const flooder = connect({ host: harness.policy.host, port: harness.policy.port });
    await once(flooder, 'connect');
    const relay = await PolicyClient.connect(harness.policy.host, harness.policy.port);
    try {
      flooder.pause();
      // 15 MB of requests in one write: far more than the kernel's buffers take, so the server reads it in many
      // pieces and most of its replies are never read.
      flooder.write('request=smtpd_access_policy\nprotocol_state=CONNECT\n\n'.repeat(300_000));
      const floodAnswered = () =>
        metricValue(harness.driver, 'relayguard_policy_requests_total', { stage: 'CONNECT' });
      await waitFor(async () => (await floodAnswered()) > 0, { description: 'the flood to be answered' });
      const betweenTurns: number[] = [];
      const held: { queuedRequests: number; pendingReplyBytes: number }[] = [];
      for (let i = 0; i < 20; i++) {
        const before = await floodAnswered();
        assert.equal(await relay.request(rcpt('203.0.113.9', 'a@b.example')), 'DUNNO');
        betweenTurns.push((await floodAnswered()) - before);
        held.push(harness.policy.stats());
      }
      // The flooder's answers while the other relay waited for one: a few turns of maxPipelined, not a whole read.
      assert.ok(
        Math.max(...betweenTurns) <= 4 * maxPipelined,
        `flood answers per round trip: ${betweenTurns}`,
      );
      for (const { queuedRequests, pendingReplyBytes } of held) {
        assert.ok(queuedRequests <= maxPipelined, `${queuedRequests} requests held`);
        assert.ok(pendingReplyBytes <= 64 * 1024, `${pendingReplyBytes} reply bytes held`);
      }
    } finally {
      flooder.destroy();
      relay.close();
      await harness.stop();
    }
  });

  it('logs connections refused over the cap once per interval, and counts every one', async () => {
    const harness = await startEnforcement();
    const logs: Record<string, unknown>[] = [];
    const server = await startPolicyServer({
      enforcer: harness.driver.runtime.enforcer!,
      metrics: harness.driver.runtime.metrics,
      logger: createLogger('warn', { write: (line: string) => void logs.push(JSON.parse(line)) }),
      ...loadConfig({}).postfixService,
      host: '127.0.0.1',
      port: 0,
      maxConnections: 1,
    });
    const held = await PolicyClient.connect(server.host, server.port);
    try {
      assert.equal(await held.request(rcpt('192.0.2.1', 'a@b.example')), 'DUNNO');
      for (let i = 0; i < 5; i++) {
        const refused = await PolicyClient.connect(server.host, server.port);
        await refused.closed;
      }
      const refusals = () =>
        metricValue(harness.driver, 'relayguard_policy_protocol_errors_total', {
          reason: 'connection-limit',
        });
      await waitFor(async () => (await refusals()) === 5, { description: 'five refusals counted' });
      const lines = logs.filter((entry) => entry.reason === 'connection-limit');
      assert.equal(lines.length, 1, 'one line per interval');
      assert.equal(lines[0]!.refused, 1, 'each line says how many were refused since the last');
    } finally {
      held.close();
      await server.close();
      await harness.stop();
    }
  });
});
