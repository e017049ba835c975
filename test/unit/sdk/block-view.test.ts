// The subscriber's view of the tenant-blocks topic, over every order of blocks, duplicates and unblocks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TenantBlockEvent } from '../../../services/core/contracts.generated.js';
import { BlockView } from '../../../services/sdk/subscriber/block-view.js';
import { blockedEvent, unblockedEvent } from '../../support/block-events.js';

const TENANTS = ['t1', 't2', 't3'];

/** Histories of a few tenants: blocks (enforce or monitor, ids that repeat: duplicate publishes) and unblocks. */
const history = fc.array(
  fc
    .record({
      tenant: fc.constantFrom(...TENANTS),
      block: fc.integer({ min: 1, max: 3 }),
      kind: fc.constantFrom('block', 'monitor', 'unblock'),
    })
    .map(({ tenant, block, kind }): TenantBlockEvent => {
      const blockId = `${tenant}#${block}`;
      if (kind === 'unblock') return unblockedEvent(tenant, blockId);
      return blockedEvent(tenant, blockId, { mode: kind === 'monitor' ? 'MONITOR' : 'ENFORCE' });
    }),
  { maxLength: 40 },
);

/** Folds events into the view; returns the changes it reported. */
function fold(view: BlockView, events: readonly TenantBlockEvent[]): string[] {
  const reported: string[] = [];
  for (const event of events) {
    const transition = view.transition(event);
    if (transition?.kind === 'blocked')
      reported.push(`blocked ${event.tenantId} ${transition.block.blockId}/${transition.block.mode}`);
    if (transition?.kind === 'unblocked')
      reported.push(`unblocked ${event.tenantId} ${transition.lifted.blockId}/${transition.lifted.mode}`);
    view.apply(event.tenantId, transition);
  }
  return reported;
}

const state = (view: BlockView) =>
  TENANTS.map((tenant) => [
    view.isBlocked(tenant),
    view.block(tenant)?.blockId ?? null,
    view.block(tenant)?.mode,
  ]);

/** What compaction keeps of a topic keyed by tenant: each tenant's latest event. */
const compacted = (events: readonly TenantBlockEvent[]) =>
  TENANTS.flatMap((tenant) => events.filter((event) => event.tenantId === tenant).slice(-1));

describe('BlockView', () => {
  it('holds what the latest event of each tenant says, so a compacted topic gives the same view', () => {
    fc.assert(
      fc.property(history, (events) => {
        const full = new BlockView();
        fold(full, events);
        const afterCompaction = new BlockView();
        fold(afterCompaction, compacted(events));
        assert.deepEqual(state(full), state(afterCompaction));
        for (const tenant of TENANTS) {
          const last = events.findLast((event) => event.tenantId === tenant);
          assert.equal(full.isBlocked(tenant), last?.blocked?.mode === 'ENFORCE');
        }
      }),
    );
  });

  it('reports each change once: a block is lifted only after it was reported, never twice in a row', () => {
    fc.assert(
      fc.property(history, history, (first, again) => {
        // `again` replays some of the same ids: duplicates of a current block report nothing.
        const reported = fold(new BlockView(), [...first, ...again]);
        for (const tenant of TENANTS) {
          let current: string | null = null;
          for (const line of reported.filter((l) => l.split(' ')[1] === tenant)) {
            const [kind, , blockId] = line.split(' ');
            if (kind === 'blocked') {
              assert.notEqual(blockId, current, `${line} reported while already current`);
              current = blockId!;
            } else {
              assert.equal(blockId, current, `${line} lifts a block that was not reported`);
              current = null;
            }
          }
        }
      }),
    );
  });

  it('does not change until the transition is applied (a failed handler leaves the change due)', () => {
    const view = new BlockView();
    const event = blockedEvent('t1', 't1#1');
    const transition = view.transition(event);
    assert.equal(transition?.kind, 'blocked');
    assert.equal(view.isBlocked('t1'), false);
    assert.deepEqual(view.transition(event), transition);
    view.apply('t1', transition);
    assert.equal(view.isBlocked('t1'), true);
    assert.equal(view.transition(event), null);
  });
});
