// The remediation rules without a directory, a log or a clock: what blocks a self-service unblock, what an
// operator is warned about, and that both read a connector's remediation the same way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  enforcedBlock,
  missingAttestations,
  remediationWarnings,
  selfServiceChecks,
  selfServiceRefusal,
  unremediatedConnectors,
} from '../../../services/admin/remediation-rules.js';
import { TENANT_SCOPE } from '../../../services/core/block-event.js';
import { type ActiveBlock, type Connector, connectorSettingsKey } from '../../../services/core/directory.js';
import { isRelayguardError } from '../../../services/core/errors.js';
import { connectorRecord, tenantLookups, tenantRecord } from '../../support/remediation.js';

const DAY = 24 * 60 * 60 * 1000;
const BLOCKED_AT = Date.UTC(2026, 11, 1, 12);

const connector = (connectorId: string, settings: Partial<Connector> = {}) =>
  connectorRecord('acme', connectorId, BLOCKED_AT - DAY, settings);

const hybrid = connector('hybrid');

function block(evidenceConnectors: { connectorId: string; messages: number }[]): ActiveBlock {
  return {
    blockId: 'b-1',
    mode: 'ENFORCE',
    reason: 'VOLUME',
    policyVersion: 'v1',
    probation: false,
    ...TENANT_SCOPE,
    blockedAt: BLOCKED_AT,
    connectorsAtBlock: { hybrid: connectorSettingsKey(hybrid) },
    evidence: {
      windowStart: BLOCKED_AT - 60 * 60 * 1000,
      windowEnd: BLOCKED_AT,
      unregistered: 900,
      forwardedUnregistered: 0,
      total: 1000,
      distinctUnregisteredDomains: 2,
      thresholds: {
        minUnregistered: 500,
        minUnregisteredRatio: 0.25,
        minDistinctDomains: 50,
        minUnregisteredWithDistinct: 100,
      },
      topDomains: [
        { domain: 'spam.example', messages: 800 },
        { domain: 'acme.example', messages: 100 },
      ],
      connectors: evidenceConnectors.map((entry) => ({
        ...entry,
        createdAt: null,
        total: entry.messages,
        distinctUnregisteredDomains: 1,
      })),
    },
  };
}

const record = (current: ActiveBlock | null, blockTimes: number[] = [BLOCKED_AT]) =>
  tenantRecord('acme', current, blockTimes);

const lookups = (connectors: Connector[], accepted: string[] = ['acme.example']) =>
  tenantLookups(connectors, accepted);

const ALL_ATTESTED = { domainsRegistered: true, connectorsReviewed: true, serversSecured: true };

describe('remediation rules', () => {
  it('count a connector as remediated once it is disabled, removed or carries other settings', () => {
    const evidence = block([{ connectorId: 'hybrid', messages: 900 }]);
    assert.deepEqual(unremediatedConnectors(evidence, lookups([hybrid])), [
      { connectorId: 'hybrid', messages: 900, identified: true },
    ]);
    // Saved again unchanged, it still carries mail as at the block.
    assert.equal(
      unremediatedConnectors(evidence, lookups([{ ...hybrid, updatedAt: BLOCKED_AT + 1 }])).length,
      1,
    );
    for (const remediated of [
      [{ ...hybrid, enabled: false }],
      [],
      [{ ...hybrid, senderIpRanges: ['198.51.100.0/28'] }],
    ]) {
      assert.deepEqual(unremediatedConnectors(evidence, lookups(remediated)), []);
    }
  });

  it('leave mail without a connector id to an operator, in the self-service checks and out of the warnings', () => {
    const evidence = block([
      { connectorId: 'unknown', messages: 40 },
      { connectorId: 'hybrid', messages: 860 },
    ]);
    // A connector someone named "unknown" is not the mail that arrived without one.
    const facts = lookups([hybrid, connector('unknown')]);
    const [, connectors] = selfServiceChecks(record(evidence), evidence, facts, undefined);
    assert.equal(connectors?.passed, false);
    assert.match(
      connectors!.detail,
      /^40 unregistered messages arrived without a connector id.*; connector hybrid carried 860/,
    );
    assert.deepEqual(
      remediationWarnings(evidence, facts).filter((warning) => warning.startsWith('connector')),
      [
        'connector hybrid carried the unregistered volume and is enabled with the sender ranges and certificate it had at the block',
      ],
    );
  });

  it('warn about the evidence domains still unregistered', () => {
    const evidence = block([{ connectorId: 'hybrid', messages: 900 }]);
    assert.deepEqual(remediationWarnings(evidence, lookups([])), [
      'domain spam.example carried the blocked volume and is not registered: register it only if the tenant sends from it (spam domains stay unregistered)',
    ]);
  });

  it('allow self-service once a month: a second block within 30 days is refused as not eligible', () => {
    const evidence = block([{ connectorId: 'hybrid', messages: 900 }]);
    const remediated = lookups([]);
    const first = selfServiceChecks(
      record(evidence, [BLOCKED_AT - 31 * DAY, BLOCKED_AT]),
      evidence,
      remediated,
      ALL_ATTESTED,
    );
    assert.deepEqual(
      first.map((check) => [check.check, check.passed]),
      [
        ['first-block-in-30-days', true],
        ['connectors-remediated', true],
        ['attestations', true],
      ],
    );
    assert.equal(selfServiceRefusal(first), null);

    const second = selfServiceChecks(
      record(evidence, [BLOCKED_AT - 29 * DAY, BLOCKED_AT]),
      evidence,
      remediated,
      ALL_ATTESTED,
    );
    const refusal = selfServiceRefusal(second);
    assert.ok(isRelayguardError(refusal));
    assert.equal(refusal.code, 'SELF_SERVICE_DENIED');
    assert.equal(refusal.details?.eligible, false);
    assert.match(refusal.message, /already blocked on 2026-11-02T12:00:00.000Z/);
  });

  it('refuse a self-service unblock with unremediated connectors or missing attestations as eligible to retry', () => {
    const evidence = block([{ connectorId: 'hybrid', messages: 900 }]);
    const checks = selfServiceChecks(record(evidence), evidence, lookups([hybrid]), {
      domainsRegistered: true,
    });
    assert.deepEqual(
      checks.map((check) => [check.check, check.passed]),
      [
        ['first-block-in-30-days', true],
        ['connectors-remediated', false],
        ['attestations', false],
      ],
    );
    assert.equal(checks[2]!.detail, 'attestations: connectorsReviewed, serversSecured must be true');
    assert.equal(selfServiceRefusal(checks)?.details?.eligible, true);
    assert.deepEqual(missingAttestations({ ...ALL_ATTESTED, serversSecured: false }), ['serversSecured']);
  });

  it('lift only an enforce-mode block', () => {
    const evidence = block([]);
    assert.equal(enforcedBlock('acme', record(evidence)), evidence);
    for (const none of [null, { ...evidence, mode: 'MONITOR' as const }]) {
      assert.throws(() => enforcedBlock('acme', record(none)), { code: 'NOT_BLOCKED' });
    }
  });
});
