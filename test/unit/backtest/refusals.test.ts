// The backtest's refusals (issue #22): on a recorded forwarding-school simulation (`simulate --scenario forwarding
// --record`, which says which messages are spam), each policy's blocks refuse what the enforcer would, by their
// scope, and the report counts the legitimate mail refused, the spam let through and the time to block, checked
// here against the record itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backtest, type PolicyReport } from '../../../services/backtest/engine.js';
import { decodeEventLine, encodeEventLine } from '../../../services/backtest/event-lines.js';
import { parsePolicySpec, policiesToRun } from '../../../services/backtest/policies.js';
import { loadTenants, type TenantsFile } from '../../../services/backtest/tenants-file.js';
import { renderBacktestText } from '../../../services/cli/backtest/report-text.js';
import { runSimulation } from '../../../services/cli/simulation/run.js';
import type { MessageSubmitted } from '../../../services/core/contracts.generated.js';
import { loadConfig } from '../../../services/platform/config.js';
import { silentLogger } from '../../../services/platform/logger.js';

const SCHOOL = 'tenant-compromised';

async function recordedSchool(): Promise<{ lines: string[]; tenants: TenantsFile }> {
  const lines: string[] = [];
  let tenants: TenantsFile = { tenants: [] };
  await runSimulation(
    loadConfig({ RELAYGUARD_BLOCK_SCOPE: 'tenant' }),
    {
      scenario: 'forwarding',
      tenants: 3,
      forwarders: 1,
      minutes: 45,
      ratePerMinute: 20,
      spamPerMinute: 40,
      compromiseMinute: 20,
      seed: 5,
      start: Date.UTC(2026, 10, 28, 9),
      recorder: {
        tenants: (file) => {
          tenants = file;
        },
        events: (messages) =>
          lines.push(...messages.map(({ event, spam }) => encodeEventLine({ ...event, spam }))),
      },
    },
    silentLogger,
  );
  return { lines, tenants };
}

function backtest(lines: readonly string[], tenants: TenantsFile, specs: string[]) {
  const config = loadConfig({});
  const candidates = specs.map((spec, i) => parsePolicySpec(config.policy, spec, i));
  const run = new Backtest(loadTenants(tenants, 'tenants'), policiesToRun(config.policy, candidates));
  run.addBatch(lines.map((line) => decodeEventLine(line)!));
  return run.report();
}

/** What a tenant-wide block from the school's first block on refuses, read off the record. */
function expectedUnderTenantBlock(
  events: readonly (MessageSubmitted & { spam: boolean })[],
  blockedAt: number,
) {
  const school = events.filter((e) => e.tenantId === SCHOOL);
  const refusable = (e: MessageSubmitted) => !e.envelopeSenderDomain!.endsWith(`${SCHOOL}.example`);
  const after = school.filter((e) => e.occurredAt > blockedAt && refusable(e));
  const spam = school.filter((e) => e.spam);
  return {
    legitimateRefused: after.filter((e) => !e.spam).length,
    spamRefused: after.filter((e) => e.spam).length,
    spamLetThrough: spam.filter((e) => e.occurredAt <= blockedAt).length,
    timeToBlockMs: blockedAt - Math.min(...spam.map((e) => e.occurredAt)),
  };
}

describe('backtest refusals', () => {
  it("refuses a tenant block's mail from the decision on, and counts it against the record's spam labels", async () => {
    const { lines, tenants } = await recordedSchool();
    const report = backtest(lines, tenants, ['tenant:scope=tenant']);
    const tenantPolicy = report.policies.find((p) => p.name === 'tenant')!;
    const [block] = tenantPolicy.blocked;
    assert.deepEqual([block!.tenantId, block!.scope], [SCHOOL, 'TENANT']);
    const events = lines.map((line) => JSON.parse(line));
    const expected = expectedUnderTenantBlock(events, block!.blockedAt);
    const { refusals } = tenantPolicy;
    assert.ok(expected.legitimateRefused > 0, 'the school forwards legitimate unregistered mail');
    assert.equal(refusals.legitimateRefused, expected.legitimateRefused);
    assert.equal(refusals.spamRefused, expected.spamRefused);
    assert.equal(refusals.spamLetThrough, expected.spamLetThrough);
    assert.equal(refusals.refused, expected.legitimateRefused + expected.spamRefused);
    assert.deepEqual(
      refusals.spamTenants.map((t) => [t.tenantId, t.timeToBlockMs]),
      [[SCHOOL, expected.timeToBlockMs]],
    );
    // A refused message is never scored: the relay would not have relayed it.
    const counted = (p: PolicyReport) => p.outcomes.counted + p.outcomes.late + p.outcomes['before-reset'];
    assert.equal(counted(tenantPolicy), report.events.scored - refusals.refused);

    const text = renderBacktestText({
      ...report,
      source: { description: 'test', problems: {}, details: {} },
    });
    assert.match(
      text,
      new RegExp(
        `tenant +tenant +1 +[\\d,]+ +${expected.legitimateRefused.toLocaleString('en-US')} +${expected.spamLetThrough} +${SCHOOL} `,
      ),
    );
  });

  it("under scope=auto blocks only the compromised server: the school's forwarded mail is not refused", async () => {
    const { lines, tenants } = await recordedSchool();
    const report = backtest(lines, tenants, ['auto:scope=auto', 'tenant:scope=tenant']);
    const [auto, tenant] = ['auto', 'tenant'].map((name) => report.policies.find((p) => p.name === name)!);
    assert.deepEqual(
      auto!.blocked.map((b) => [b.tenantId, b.scope, b.connectorIds]),
      [[SCHOOL, 'CONNECTOR', [`${SCHOOL}-onprem`]]],
    );
    assert.deepEqual(
      tenant!.blocked.map((b) => [b.tenantId, b.scope]),
      [[SCHOOL, 'TENANT']],
    );
    const events = lines.map((line) => JSON.parse(line));
    const blockedAt = auto!.blocked[0]!.blockedAt;
    // What the connector block refuses, read off the record: the compromised server's unregistered mail after it.
    const onServer = events.filter(
      (e) =>
        e.tenantId === SCHOOL &&
        e.connectorId === `${SCHOOL}-onprem` &&
        e.occurredAt > blockedAt &&
        !e.envelopeSenderDomain.endsWith(`${SCHOOL}.example`),
    );
    assert.equal(auto!.refusals.legitimateRefused, onServer.filter((e) => !e.spam).length);
    assert.equal(auto!.refusals.spamRefused, onServer.filter((e) => e.spam).length);
    assert.ok(auto!.refusals.legitimateRefused! < tenant!.refusals.legitimateRefused!);
    assert.equal(auto!.refusals.spamLetThrough, tenant!.refusals.spamLetThrough);
    assert.deepEqual(auto!.refusals.spamTenants, tenant!.refusals.spamTenants);
  });

  it('says nothing of legitimate mail or spam when the record does not say which is which', async () => {
    const { lines, tenants } = await recordedSchool();
    const unlabelled = lines.map((line) => {
      const { spam: _spam, ...event } = JSON.parse(line);
      return JSON.stringify(event);
    });
    const { refusals } = backtest(unlabelled, tenants, []).policies[0]!;
    assert.ok(refusals.refused > 0);
    assert.deepEqual(
      [refusals.legitimateRefused, refusals.spamRefused, refusals.spamLetThrough, refusals.spamTenants],
      [null, null, null, []],
    );
  });
});
