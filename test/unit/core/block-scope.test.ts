// Connector-scoped blocks (issue #22) in the directory and in the decision: a CONNECTOR block refuses only its
// connectors' unregistered mail, and within an episode a block widened to the tenant is never narrowed again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TenantBlockEvent } from '../../../services/core/contracts.generated.js';
import { decide } from '../../../services/core/decision.js';
import { TenantDirectory } from '../../../services/core/directory.js';
import { blockIdFor } from '../../../services/core/episodes.js';
import { blockedEvent, connectorScope, unblockedEvent } from '../../support/block-events.js';
import { acceptedDomainAdded } from '../../support/builders.js';

const TENANT = 'school';
const T = Date.UTC(2026, 11, 1, 9);
const CONNECTOR_BLOCK = blockIdFor(TENANT, T, 0);
const TENANT_BLOCK = blockIdFor(TENANT, T + 20 * 60_000, 0);

const connectorBlock = (at = T) =>
  blockedEvent(TENANT, CONNECTOR_BLOCK, { at, scope: connectorScope('onprem-1') });
const widened = (): TenantBlockEvent => {
  const event = blockedEvent(TENANT, TENANT_BLOCK, { at: T + 20 * 60_000 });
  return {
    ...event,
    blocked: { ...event.blocked!, widenedFrom: CONNECTOR_BLOCK, scopeReason: 'the flood moved to onprem-2' },
  };
};

function directoryAfter(events: readonly TenantBlockEvent[]): TenantDirectory {
  const directory = new TenantDirectory();
  directory.apply(
    acceptedDomainAdded(TENANT, 'school.example', { occurredAt: T - 86_400_000, actor: 'operator#1' }),
  );
  for (const event of events) directory.apply({ kind: 'tenant-block', event });
  return directory;
}

describe('decide: the scope of the block in force', () => {
  const directory = directoryAfter([connectorBlock()]);

  it('refuses unregistered mail of a blocked connector, saying the block covers connectors', () => {
    assert.deepEqual(decide(directory, TENANT, 'spam.example', 'onprem-1'), {
      action: 'REJECT',
      code: 550,
      enhancedCode: '5.7.750',
      text: 'Service unavailable. Client blocked from sending from unregistered domains',
      blockId: CONNECTOR_BLOCK,
      scope: 'CONNECTOR',
    });
  });

  it("accepts the tenant's other connectors and clients of no known connector", () => {
    for (const connectorId of ['forwarding', null]) {
      assert.deepEqual(decide(directory, TENANT, 'gmail.example', connectorId), {
        action: 'ACCEPT',
        reason: 'connector-not-blocked',
      });
    }
  });

  it("accepts a blocked connector's registered senders", () => {
    assert.deepEqual(decide(directory, TENANT, 'school.example', 'onprem-1'), {
      action: 'ACCEPT',
      reason: 'registered-domain',
    });
  });

  it('refuses unregistered mail on every connector, and on none, once the block covers the tenant', () => {
    const wide = directoryAfter([connectorBlock(), widened()]);
    for (const connectorId of ['onprem-1', 'forwarding', null]) {
      const decision = decide(wide, TENANT, 'spam.example', connectorId);
      assert.equal(decision.action, 'REJECT', String(connectorId));
      assert.equal(decision.action === 'REJECT' && decision.scope, 'TENANT');
    }
  });
});

describe('BlockStates: a widened block stays wide within its episode', () => {
  it('ignores the connector block replayed or retried after the block that widened it', () => {
    const directory = directoryAfter([connectorBlock(), widened(), connectorBlock(), connectorBlock(T + 1)]);
    const record = directory.tenant(TENANT)!;
    assert.equal(record.block?.blockId, TENANT_BLOCK);
    assert.equal(record.block?.scope, 'TENANT');
    assert.equal(directory.blockedCount, 1);
  });

  it('counts the widening as the same block for the one-a-month rule, and a duplicate changes nothing', () => {
    const record = directoryAfter([connectorBlock(), widened(), widened()]).tenant(TENANT)!;
    assert.equal(record.block?.widenedFrom, CONNECTOR_BLOCK);
    assert.deepEqual(record.blockTimes, [T]);
  });

  it('takes a connector block of a later generation: the widened block was lifted', () => {
    const lift = unblockedEvent(TENANT, TENANT_BLOCK, { at: T + 3_600_000 });
    const next = blockIdFor(TENANT, T + 2 * 3_600_000, T + 3_600_000);
    const later = blockedEvent(TENANT, next, { at: T + 2 * 3_600_000, scope: connectorScope('onprem-2') });
    const record = directoryAfter([connectorBlock(), widened(), lift, later]).tenant(TENANT)!;
    assert.equal(record.block?.blockId, next);
    assert.deepEqual(record.block?.connectorIds, ['onprem-2']);
  });
});
