// Remediation of a connector-scoped block without a directory, a log or a clock: which connectors a lift may
// name, the block that remains, what the self-service checks and warnings ask of whom, the remedies' order and
// the connector review's ranking.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectorLift, remainingBlockEvent } from '../../../services/admin/connector-lift.js';
import { reviewConnectors } from '../../../services/admin/connector-review.js';
import {
  remediationWarnings,
  remedies,
  selfServiceChecks,
} from '../../../services/admin/remediation-rules.js';
import { TENANT_SCOPE } from '../../../services/core/block-event.js';
import type { RelayPath } from '../../../services/core/contracts.generated.js';
import {
  type ActiveBlock,
  type Connector,
  connectorSettingsKey,
  type TenantRecord,
} from '../../../services/core/directory.js';
import { blockGeneration } from '../../../services/core/episodes.js';
import { DEFAULT_POLICY } from '../../../services/core/policy.js';
import { evidenceConnectors } from '../../support/block-events.js';
import { connectorRecord, tenantLookups, tenantRecord } from '../../support/remediation.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BLOCKED_AT = Date.UTC(2026, 11, 1, 12);

const connector = (connectorId: string, relayPath: RelayPath = 'ONPREM') =>
  connectorRecord('school', connectorId, BLOCKED_AT - 90 * DAY, { relayPath });

const onprem1 = connector('onprem-1');
const onprem2 = connector('onprem-2');
const forwarding = connector('forwarding', 'FORWARDED');

/** The school's block: onprem-1 and onprem-2 carried the spam; the forwarding connector's mail is allowed. */
function connectorBlock(changes: Partial<ActiveBlock> = {}): ActiveBlock {
  return {
    blockId: 'school@2026-12-01T12:00Z',
    mode: 'ENFORCE',
    reason: 'VOLUME',
    policyVersion: 'v1',
    probation: false,
    scope: 'CONNECTOR',
    connectorIds: ['onprem-2', 'onprem-1'],
    scopeReason:
      "connectors onprem-2, onprem-1 carried 900 of 910 unregistered messages; the tenant's other connectors stay under the thresholds",
    widenedFrom: null,
    liftedConnectorIds: [],
    blockedAt: BLOCKED_AT,
    connectorsAtBlock: Object.fromEntries(
      [onprem1, onprem2, forwarding].map((c) => [c.connectorId, connectorSettingsKey(c)]),
    ),
    evidence: {
      windowStart: BLOCKED_AT - HOUR,
      windowEnd: BLOCKED_AT,
      unregistered: 910,
      forwardedUnregistered: 700,
      total: 2000,
      distinctUnregisteredDomains: 80,
      thresholds: DEFAULT_POLICY.thresholds,
      topDomains: [{ domain: 'promo.example', messages: 400 }],
      connectors: evidenceConnectors({ 'onprem-2': 600, 'onprem-1': 300, forwarding: 10 }),
    },
    ...changes,
  };
}

const record = (block: ActiveBlock, extra: Partial<TenantRecord> = {}) =>
  tenantRecord('school', block, [block.blockedAt], extra);

/** The school accepts no domain the evidence names. */
const lookups = (connectors: Connector[]) => tenantLookups(connectors, []);

describe('per-connector lift', () => {
  it('lifts the named connectors and keeps the others blocked; naming them all lifts the whole block', () => {
    const block = connectorBlock();
    assert.deepEqual(connectorLift('school', block, ['onprem-1', 'onprem-1']), {
      lifted: ['onprem-1'],
      remaining: ['onprem-2'],
    });
    assert.equal(connectorLift('school', block, ['onprem-1', 'onprem-2']), null);
    assert.equal(connectorLift('school', block, undefined), null);
  });

  it('refuses a connector of a tenant block, and one the block does not cover, naming the field', () => {
    const tenantBlock = connectorBlock({ ...TENANT_SCOPE });
    assert.throws(() => connectorLift('school', tenantBlock, ['onprem-1']), {
      code: 'INVALID_FIELD',
      field: 'connectorIds',
      message:
        /^connectorIds: block school@2026-12-01T12:00Z covers the whole of tenant school, not single connectors/,
    });
    assert.throws(() => connectorLift('school', connectorBlock(), ['forwarding', 'onprem-1', 'lab']), {
      code: 'INVALID_FIELD',
      message:
        'connectorIds: forwarding, lab are not blocked by block school@2026-12-01T12:00Z, which blocks onprem-2, onprem-1',
    });
  });

  it('restates the remaining block in the generation the lift starts, with the lifted connectors named', () => {
    const liftedAt = BLOCKED_AT + 2 * HOUR;
    const block = connectorBlock({ liftedConnectorIds: ['lab'] });
    const event = remainingBlockEvent(
      'school',
      block,
      { lifted: ['onprem-1'], remaining: ['onprem-2'] },
      liftedAt,
    );
    const blocked = event.blocked!;
    assert.equal(event.kind, 'BLOCKED');
    assert.equal(event.eventId, blocked.blockId);
    assert.equal(event.occurredAt, liftedAt);
    assert.equal(blocked.blockId, `school@2026-12-01T14:00Z~g${liftedAt}`);
    assert.equal(blockGeneration(blocked.blockId), liftedAt);
    assert.deepEqual(blocked.connectorIds, ['onprem-2']);
    assert.deepEqual(blocked.liftedConnectorIds, ['lab', 'onprem-1']);
    assert.equal(blocked.scope, 'CONNECTOR');
    assert.equal(blocked.widenedFrom, null);
    assert.equal(blocked.evidence, block.evidence);
    assert.equal(blocked.scopeReason, block.scopeReason);
    assert.equal('connectorsAtBlock' in blocked || 'blockedAt' in blocked, false, 'a TenantBlocked only');
  });
});

describe('remediation of a connector-scoped block', () => {
  it('asks the self-service unblock to remediate the blocked connectors only, not the forwarding one', () => {
    const block = connectorBlock();
    const facts = lookups([onprem1, { ...onprem2, enabled: false }, forwarding]);
    const [, whole] = selfServiceChecks(record(block), block, facts, undefined);
    assert.equal(whole!.passed, false);
    assert.match(whole!.detail, /^connector onprem-1 carried 300 unregistered messages/);
    assert.doesNotMatch(whole!.detail, /forwarding/);
    // Lifting onprem-2 alone asks only that onprem-2 is remediated.
    const [, partial] = selfServiceChecks(record(block), block, facts, undefined, ['onprem-2']);
    assert.equal(partial!.passed, true);
    assert.match(partial!.detail, /^every connector lifted is disabled/);
    assert.deepEqual(
      remediationWarnings(block, facts, ['onprem-1']).filter((w) => w.startsWith('connector')),
      [
        'connector onprem-1 carried the unregistered volume and is enabled with the sender ranges and certificate it had at the block',
      ],
    );
  });

  it("counts neither the widened connector block nor the lift's restatement as an earlier block", () => {
    const lastUnblockAt = BLOCKED_AT - 20 * DAY;
    const lastUnblock = {
      blockId: 'school@old',
      source: 'OPERATOR' as const,
      actor: 'op',
      ticket: null,
      attestations: { domainsRegistered: true, connectorsReviewed: true, serversSecured: true },
      probationUntil: null,
      unblockedAt: lastUnblockAt,
    };
    const firstCheck = (block: ActiveBlock, blockTimes: number[], unblocked = lastUnblock) =>
      selfServiceChecks(
        record(block, { blockTimes, lastUnblock: unblocked }),
        block,
        lookups([]),
        undefined,
      )[0]!;
    const widened = connectorBlock({ ...TENANT_SCOPE, widenedFrom: 'school@2026-12-01T11:00Z' });
    // The connector block an hour before, after the last unblock: the same episode.
    assert.equal(firstCheck(widened, [BLOCKED_AT - HOUR, BLOCKED_AT]).passed, true);
    const restated = connectorBlock({ liftedConnectorIds: ['onprem-1'] });
    assert.equal(firstCheck(restated, [BLOCKED_AT - 3 * HOUR, BLOCKED_AT]).passed, true);
    // A block lifted 20 days ago still counts, and a plain block keeps counting the block before it.
    assert.equal(
      firstCheck(restated, [lastUnblockAt - HOUR, BLOCKED_AT - 3 * HOUR, BLOCKED_AT]).passed,
      false,
    );
    assert.equal(firstCheck(connectorBlock(), [BLOCKED_AT - HOUR, BLOCKED_AT]).passed, false);
  });

  it('offers disabling the culprit connectors first, then securing the servers, then lifting them', () => {
    const block = connectorBlock();
    assert.deepEqual(
      remedies('school', block, lookups([onprem1, onprem2, forwarding])).map((r) => [
        r.action,
        r.connectorId,
      ]),
      [
        ['disable-connector', 'onprem-2'],
        ['disable-connector', 'onprem-1'],
        ['secure-servers', null],
        ['lift-connectors', null],
      ],
    );
    const [first] = remedies('school', block, lookups([onprem1, onprem2]));
    assert.equal(
      first!.detail,
      "disable connector onprem-2: it carried 600 unregistered messages (or give it the secured server's new sender ranges or certificate)",
    );
    const tenantBlock = connectorBlock({ ...TENANT_SCOPE });
    assert.deepEqual(
      remedies('school', tenantBlock, lookups([onprem1])).map((r) => r.action),
      ['disable-connector', 'secure-servers', 'lift-block'],
    );
  });

  it('ranks the blocked connectors first in the connector review', () => {
    const review = reviewConnectors({
      now: BLOCKED_AT + HOUR,
      connectors: [onprem1, onprem2, forwarding, { ...connector('lab'), createdAt: BLOCKED_AT - 2 * HOUR }],
      block: connectorBlock({ connectorIds: ['onprem-1'] }),
      window: new Map(),
    });
    assert.deepEqual(
      review.map((r) => [r.connectorId, r.blocked, r.reasons[0]?.code]),
      [
        ['onprem-1', true, 'blocked'],
        ['lab', false, 'created-shortly-before-spike'],
        ['onprem-2', false, 'carried-unregistered-volume'],
        ['forwarding', false, 'carried-unregistered-volume'],
      ],
    );
    assert.equal(
      review[0]!.reasons[0]!.detail,
      'blocked by school@2026-12-01T12:00Z: its unregistered mail is refused',
    );
    assert.equal(review[0]!.reasons[1]!.code, 'carried-unregistered-volume');
  });

  it('judges changes after the decision as remediation in a block restated by a later lift', () => {
    const secured = { ...onprem2, changedAt: BLOCKED_AT + HOUR, updatedBy: 'tenant-admin:school' };
    const restated = connectorBlock({ blockedAt: BLOCKED_AT + 3 * HOUR, liftedConnectorIds: ['onprem-1'] });
    const review = reviewConnectors({
      now: BLOCKED_AT + 4 * HOUR,
      connectors: [secured],
      block: restated,
      window: new Map(),
    });
    assert.deepEqual(
      review[0]!.reasons.map((reason) => reason.code),
      ['blocked', 'carried-unregistered-volume'],
    );
  });
});
