import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
