import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeEventLine } from '../../../services/backtest/event-lines.js';
import { SPAM_MOVES_AFTER_MINUTES } from '../../../services/cli/simulation/fleet.js';
import { renderSimulationSummary } from '../../../services/cli/simulation/report.js';
import { runSimulation } from '../../../services/cli/simulation/run.js';
import { loadConfig } from '../../../services/platform/config.js';
import { silentLogger } from '../../../services/platform/logger.js';

describe('relayguard simulate', () => {
  it('blocks the compromised tenant, not the forwarding ones, and says so', async () => {
    const summary = await runSimulation(
      loadConfig({}),
      {
        tenants: 10,
        forwarders: 3,
        minutes: 45,
        ratePerMinute: 20,
        spamPerMinute: 40,
        compromiseMinute: 20,
        seed: 3,
        start: Date.UTC(2026, 10, 28, 9),
      },
      silentLogger,
    );
    assert.equal(summary.ok, true);
    assert.deepEqual(
      summary.blocked.map((b) => [b.tenantId, b.kind]),
      [['tenant-compromised', 'compromised']],
    );
    assert.equal(summary.forwardersBlocked, 0);
    assert.ok(
      summary.maxForwarded > 500,
      `forwarders relayed real unregistered volume (F = ${summary.maxForwarded})`,
    );
    const after = summary.blocked[0]!.afterCompromiseMs!;
    assert.ok(after > 0 && after < 10 * 60_000, `blocked ${after} ms after the compromise`);
    assert.equal(
      summary.relayAnswers.unregisteredSender,
      '550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains',
    );
    assert.equal(summary.relayAnswers.registeredSender, 'accept');

    const text = renderSimulationSummary(summary);
    assert.match(text, /tenant-compromised\s+compromised\s+ENFORCE/);
    assert.match(text, /Forwarding tenants blocked: 0 of 3/);
    assert.match(text, /Result: as expected/);
  });
});

describe('relayguard simulate --scenario forwarding', () => {
  const run = (env: Record<string, string>, recorded: string[] = []) =>
    runSimulation(
      loadConfig(env),
      {
        scenario: 'forwarding',
        tenants: 4,
        forwarders: 1,
        minutes: 40,
        ratePerMinute: 20,
        spamPerMinute: 40,
        compromiseMinute: 20,
        seed: 3,
        start: Date.UTC(2026, 10, 28, 9),
        recorder: {
          tenants: () => {},
          events: (messages) =>
            recorded.push(...messages.map(({ event, spam }) => encodeEventLine({ ...event, spam }))),
        },
      },
      silentLogger,
    );

  it("gives the compromised school a forwarding connector, and a tenant block refuses the students' mail", async () => {
    const recorded: string[] = [];
    const summary = await run({ RELAYGUARD_BLOCK_SCOPE: 'tenant' }, recorded);
    assert.deepEqual(
      summary.blocked.map((b) => [b.tenantId, b.block.scope]),
      [['tenant-compromised', 'TENANT']],
    );
    assert.match(summary.relayAnswers.forwardedSender!, /^550 5\.7\.750 /);
    assert.ok(summary.refused.legitimate > 0, `legitimate mail refused: ${summary.refused.legitimate}`);
    assert.match(
      renderSimulationSummary(summary),
      /forwarded sender +-> 550 5\.7\.750 .* \(its forwarding connector\)/,
    );

    // The record holds every offered message, refused ones too, and says which are spam: exactly the
    // compromised server's unregistered flood from the compromise on.
    const events = recorded.map((line) => JSON.parse(line));
    const school = events.filter((e) => e.tenantId === 'tenant-compromised');
    assert.deepEqual([...new Set(school.map((e) => e.connectorId))].sort(), [
      'tenant-compromised-forwarding',
      'tenant-compromised-onprem',
    ]);
    const spam = events.filter((e) => e.spam === true);
    assert.equal(spam.length, 20 * 40);
    assert.ok(
      spam.every(
        (e) =>
          e.connectorId === 'tenant-compromised-onprem' && e.envelopeSenderDomain.endsWith('-promo.example'),
      ),
    );
    assert.equal(events.length, summary.messages + summary.refused.spam + summary.refused.legitimate);
  });
});

describe('relayguard simulate --scenario moving', () => {
  const run = (env: Record<string, string> = {}) =>
    runSimulation(
      loadConfig(env),
      {
        scenario: 'moving',
        tenants: 4,
        forwarders: 1,
        minutes: 45,
        ratePerMinute: 20,
        spamPerMinute: 40,
        compromiseMinute: 15,
        seed: 3,
        start: Date.UTC(2026, 10, 28, 9),
      },
      silentLogger,
    );

  it('blocks the first server, then widens the block to the tenant when the spam moves to the second', async () => {
    const summary = await run();
    const [narrow, wide] = summary.blocked.map((b) => b.block);
    assert.deepEqual(
      summary.blocked.map((b) => [b.tenantId, b.block.scope, b.block.connectorIds]),
      [
        ['tenant-compromised', 'CONNECTOR', ['tenant-compromised-onprem']],
        ['tenant-compromised', 'TENANT', []],
      ],
    );
    assert.equal(wide!.widenedFrom, narrow!.blockId);
    // Blocked on the first server before the spam moved, widened after it moved.
    const moved = summary.compromiseStartedAt + SPAM_MOVES_AFTER_MINUTES * 60_000;
    assert.ok(summary.blocked[0]!.blockedAt < moved, 'the first server blocked before the spam moved');
    assert.ok(summary.blocked[1]!.blockedAt > moved, 'widened once it moved');
    assert.match(summary.relayAnswers.secondServerSender!, /^550 5\.7\.750 /);
    assert.equal(summary.relayAnswers.registeredSender, 'accept');
    assert.equal(summary.ok, true);
    const text = renderSimulationSummary(summary);
    assert.match(text, /tenant-compromised\s+compromised\s+ENFORCE\s+tenant \(widened\)/);
    assert.match(text, /unregistered sender -> 550 5\.7\.750 .* \(its second server, where the spam moved\)/);
    assert.match(
      text,
      /Result: as expected - the compromised tenant is blocked, on the server its spam moved to too/,
    );
  });

  it('is not as expected when the policy never widens a block (block scope connector): the spam flows on', async () => {
    const summary = await run({ RELAYGUARD_BLOCK_SCOPE: 'connector' });
    assert.deepEqual(
      summary.blocked.map((b) => b.block.scope),
      ['CONNECTOR'],
    );
    assert.equal(summary.relayAnswers.secondServerSender, 'accept');
    assert.equal(summary.ok, false);
    assert.match(renderSimulationSummary(summary), /Result: NOT as expected/);
  });
});
