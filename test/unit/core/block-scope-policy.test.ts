// The scope the policy gives a block (issue #22): the connectors that carry the flood when the tenant's other
// connectors stay under the thresholds, the tenant otherwise; widened to the tenant when the flood moves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RelayPath, TenantBlocked } from '../../../services/core/contracts.generated.js';
import { type ScoreResult, scoreTenant } from '../../../services/core/fold.js';
import { DEFAULT_POLICY, type Policy } from '../../../services/core/policy.js';
import { type PositionedMessage, positioned, type TenantContext } from '../../../services/core/scoring.js';
import { NO_STANDING } from '../../../services/core/tenant-terms.js';
import type { TenantWindow } from '../../../services/core/windows.js';

const T0 = Date.UTC(2026, 11, 1, 9);
const DAY_MS = 86_400_000;
/** Block at 50 unregistered messages making a quarter of the mail. */
const POLICY: Policy = {
  ...DEFAULT_POLICY,
  thresholds: { ...DEFAULT_POLICY.thresholds, minUnregistered: 50 },
};
const CREATED: Record<string, number> = {
  forwarding: T0 - 400 * DAY_MS,
  'onprem-1': T0 - 400 * DAY_MS,
  'onprem-2': T0 - 400 * DAY_MS,
  'onprem-new': T0 - DAY_MS,
};
const CONTEXT: TenantContext = {
  acceptedDomain: (_tenant, domain) => (domain === 'school.example' ? { matchSubdomains: false } : undefined),
  standing: () => NO_STANDING,
  connectorCreatedAt: (_tenant, connectorId) => CREATED[connectorId] ?? null,
  enforcedBlock: () => null,
};

/** A stream of messages: each call adds `count` messages `stepMs` apart after the last. */
class Stream {
  readonly messages: PositionedMessage[] = [];
  readonly #stepMs: number;
  #at = T0;

  constructor(stepMs = 1_000) {
    this.#stepMs = stepMs;
  }

  add(count: number, connectorId: string | null, relayPath: RelayPath, sender: (i: number) => string): this {
    for (let i = 0; i < count; i++) {
      this.#at += this.#stepMs;
      const offset = this.messages.length;
      this.messages.push(
        positioned(
          { tenantId: 'school', occurredAt: this.#at, senderDomain: sender(i), relayPath, connectorId },
          { partition: 0, offset: String(offset) },
          `e${offset}`,
        ),
      );
    }
    return this;
  }

  /** Forwarded mail from external senders (unregistered, allowed) and the school's own mail. */
  legitimate(count: number): this {
    return this.add(count, 'forwarding', 'FORWARDED', (i) => `mailbox${i % 30}.example`).add(
      count,
      'onprem-1',
      'ONPREM',
      () => 'school.example',
    );
  }

  spam(count: number, connectorId: string | null): this {
    return this.add(count, connectorId, 'ONPREM', (i) => `spam${i % 7}.example`);
  }
}

function score(stream: Stream, policy: Policy = POLICY, previous?: TenantWindow): ScoreResult {
  return scoreTenant(previous, 'school', stream.messages, policy, CONTEXT);
}

const blocks = (result: ScoreResult): TenantBlocked[] => result.emits.map((emit) => emit.blocked!);

describe('block scope: the connectors that carry the flood, or the tenant', () => {
  it('blocks only the flooding connector while forwarding stays under the thresholds, saying why', () => {
    const [block, ...more] = blocks(score(new Stream().legitimate(100).spam(120, 'onprem-1')));
    assert.equal(more.length, 0);
    assert.equal(block!.scope, 'CONNECTOR');
    assert.deepEqual(block!.connectorIds, ['onprem-1']);
    assert.equal(
      block!.scopeReason,
      "connector onprem-1 carried 67 of 67 unregistered messages; the tenant's other connectors stay under the thresholds",
    );
    const volumes = Object.fromEntries(block!.evidence.connectors.map((c) => [c.connectorId, c]));
    assert.deepEqual(
      [
        volumes['onprem-1']!.messages,
        volumes['onprem-1']!.total,
        volumes['onprem-1']!.distinctUnregisteredDomains,
      ],
      [67, 167, 7],
    );
    assert.deepEqual([volumes.forwarding!.messages, volumes.forwarding!.total], [0, 100]);
  });

  it('blocks the tenant under block scope tenant', () => {
    const [block] = blocks(
      score(new Stream().legitimate(100).spam(120, 'onprem-1'), { ...POLICY, blockScope: 'tenant' }),
    );
    assert.equal(block!.scope, 'TENANT');
    assert.match(block!.scopeReason, /block scope tenant/);
  });

  it('blocks the tenant when mail of no known connector fires, or one connector carries all its mail', () => {
    const unknown = blocks(score(new Stream().legitimate(100).spam(120, null)))[0]!;
    assert.equal(unknown.scope, 'TENANT');
    assert.match(unknown.scopeReason, /no known connector/);
    const alone = blocks(score(new Stream().spam(60, 'onprem-1')))[0]!;
    assert.equal(alone.scope, 'TENANT');
    assert.match(alone.scopeReason, /carried all of the tenant's mail/);
  });

  it('blocks the tenant when no connector fires on its own', () => {
    // 2 x 40 spam: each connector 40 < 50, the tenant 80.
    const stream = new Stream().legitimate(60);
    for (let i = 0; i < 40; i++) stream.spam(1, 'onprem-1').spam(1, 'onprem-2');
    const [block] = blocks(score(stream));
    assert.equal(block!.scope, 'TENANT');
    assert.match(block!.scopeReason, /spread over the tenant/);
  });

  it('blocks a recently created connector carrying unregistered mail beside the one that fires', () => {
    const [block] = blocks(score(new Stream().legitimate(100).spam(5, 'onprem-new').spam(120, 'onprem-1')));
    assert.equal(block!.scope, 'CONNECTOR');
    assert.deepEqual(block!.connectorIds, ['onprem-1', 'onprem-new']);
    assert.match(block!.scopeReason, /onprem-new created in the last 7 days/);
  });
});

describe('block scope: escalation when the flood moves', () => {
  const moved = () => new Stream().legitimate(100).spam(120, 'onprem-1').spam(200, 'onprem-2');

  it('widens the connector block to the tenant under auto, a new block naming the one it widened', () => {
    const [first, widened, ...more] = blocks(score(moved()));
    assert.equal(more.length, 0);
    assert.equal(first!.scope, 'CONNECTOR');
    assert.equal(widened!.scope, 'TENANT');
    assert.equal(widened!.widenedFrom, first!.blockId);
    assert.notEqual(widened!.blockId, first!.blockId);
    assert.match(widened!.scopeReason, /the flood moved: the tenant's connectors other than onprem-1/);
  });

  it('keeps the connector block under block scope connector', () => {
    const result = score(moved(), { ...POLICY, blockScope: 'connector' });
    assert.deepEqual(
      blocks(result).map((b) => b.scope),
      ['CONNECTOR'],
    );
    assert.deepEqual(result.window.blockedConnectors, ['onprem-1']);
  });

  it('gives the widening its own id when it comes in the minute of the connector block', () => {
    // 180 messages 100 ms apart: all in the first minute.
    const stream = new Stream(100).legitimate(10).spam(50, 'onprem-1').spam(60, 'onprem-2');
    const [first, widened] = blocks(score(stream));
    assert.equal(first!.scope, 'CONNECTOR');
    assert.equal(widened!.widenedFrom, first!.blockId);
    assert.equal(first!.blockId, 'school@2026-12-01T09:01Z');
    assert.equal(widened!.blockId, 'school@2026-12-01T09:02Z', 'the minute after the window end');
    assert.equal(widened!.evidence.windowEnd, first!.evidence.windowEnd);
  });
});
