// The subscriber's view of the tenant-blocks topic, over every order of blocks (of connectors and of the tenant),
// duplicates, unblocks, blocks of lifted episodes and connector blocks republished after their widening: it agrees
// with the enforcer's directory, and compaction does not change it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { TenantBlockEvent } from '../../../services/core/contracts.generated.js';
import { isEnforcedBlock, TenantDirectory } from '../../../services/core/directory.js';
import { blockIdFor } from '../../../services/core/episodes.js';
import { BlockView } from '../../../services/sdk/subscriber/block-view.js';
import { blockedEvent, connectorScope, unblockedEvent } from '../../support/block-events.js';

const TENANTS = ['t1', 't2', 't3'];
const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2026, 11, 1);

/**
 * A block of a window (0..2) and a generation (0 or an unblock time); the mode follows from the window. A block of
 * a connector is decided a minute into the window (its id differs from the tenant block's of the same window).
 */
const block = (tenant: string, window: number, generation: number, ofConnector = false) => {
  const at = T0 + window * HOUR_MS + (ofConnector ? 60_000 : 0);
  return blockedEvent(tenant, blockIdFor(tenant, at, generation), {
    at,
    mode: window === 2 ? 'MONITOR' : 'ENFORCE',
    scope: ofConnector ? connectorScope(`${tenant}-onprem`) : undefined,
  });
};

/** Any history, zombies included: blocks of any generation, unblocks of any block at any time. */
const anyHistory = fc.array(
  fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...TENANTS),
        fc.nat(2),
        fc.constantFrom(0, T0 + HOUR_MS, T0 + 5 * HOUR_MS),
        fc.boolean(),
      )
      .map(([tenant, window, generation, ofConnector]) => block(tenant, window, generation, ofConnector)),
    fc
      .tuple(fc.constantFrom(...TENANTS), fc.nat(2), fc.constantFrom(0, T0 + HOUR_MS), fc.nat(8))
      .map(([tenant, window, generation, hours]) =>
        unblockedEvent(tenant, blockIdFor(tenant, T0 + window * HOUR_MS, generation), {
          at: T0 + hours * HOUR_MS,
        }),
      ),
  ),
  { maxLength: 40 },
);

/** The enforcer's directory after these block events. */
function directoryAfter(events: readonly TenantBlockEvent[]): TenantDirectory {
  const directory = new TenantDirectory();
  for (const event of events) directory.apply({ kind: 'tenant-block', event });
  return directory;
}

/**
 * Histories the producers make: per tenant, a block of the tenant or of a connector in the current generation, a
 * connector block widened to the tenant, duplicates of the block in force, unblocks of the block in force starting
 * the next generation, a block published before published again (a zombie scorer, a rebuild) and what a scorer
 * whose directory read the topic so far publishes behind a block every directory ignores; tenants interleaved. A
 * scorer's batch follows the history (its reaffirmations last).
 */
const producedHistory = fc
  .array(
    fc.tuple(
      fc.constantFrom(...TENANTS),
      fc.constantFrom('block', 'narrow', 'widen', 'again', 'zombie', 'reaffirm', 'unblock'),
      fc.nat(),
    ),
    { maxLength: 40, size: 'max' },
  )
  .map((steps) => {
    const state = new Map<string, { generation: number; window: number; current: TenantBlockEvent | null }>();
    const events: TenantBlockEvent[] = [];
    /** What a scorer whose directory read the first `read` events publishes (it may lag behind the topic). */
    const reaffirm = (read = events.length) => {
      events.push(
        ...directoryAfter(events.slice(0, read))
          .staleBlocksLast()
          .map(({ reaffirmation }) => reaffirmation),
      );
    };
    for (const [tenant, step, pick] of steps) {
      const s = state.get(tenant) ?? { generation: 0, window: 0, current: null };
      state.set(tenant, s);
      const blocked = s.current?.blocked;
      if ((step === 'block' || step === 'narrow') && !s.current) {
        s.current = block(tenant, s.window++ % 3, s.generation, step === 'narrow');
        events.push(s.current);
      } else if (step === 'widen' && blocked?.scope === 'CONNECTOR') {
        const wide = block(tenant, (s.window - 1) % 3, s.generation);
        s.current = { ...wide, blocked: { ...wide.blocked!, widenedFrom: blocked.blockId } };
        events.push(s.current);
      } else if (step === 'again' && s.current) {
        events.push(s.current);
      } else if (step === 'zombie') {
        const published = events.filter((e) => e.tenantId === tenant && e.kind === 'BLOCKED');
        if (published.length > 0) events.push(published[pick % published.length]!);
      } else if (step === 'reaffirm') {
        reaffirm(Math.max(0, events.length - (pick % 4)));
      } else if (step === 'unblock' && s.current) {
        const at = T0 + (10 + events.length) * HOUR_MS;
        events.push(unblockedEvent(tenant, s.current.blocked!.blockId, { at }));
        s.generation = at;
        s.current = null;
      }
    }
    reaffirm();
    return events;
  });

/** Folds events into the view; returns the changes it reported. */
function fold(view: BlockView, events: readonly TenantBlockEvent[]): string[] {
  const reported: string[] = [];
  for (const event of events) {
    const transition = view.transition(event);
    if (transition?.kind === 'blocked')
      reported.push(`blocked ${event.tenantId} ${transition.block.blockId}`);
    if (transition?.kind === 'unblocked')
      reported.push(`unblocked ${event.tenantId} ${transition.lifted?.blockId}`);
    view.apply(event, transition);
  }
  return reported;
}

/** A view that folded these events. */
function viewAfter(events: readonly TenantBlockEvent[]): BlockView {
  const view = new BlockView();
  fold(view, events);
  return view;
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
  it('agrees with the enforcer directory on every history, blocks of lifted episodes included', () => {
    fc.assert(
      fc.property(anyHistory, (events) => {
        const view = viewAfter(events);
        const directory = directoryAfter(events);
        for (const tenant of TENANTS) {
          const record = directory.tenant(tenant);
          assert.equal(view.isBlocked(tenant), isEnforcedBlock(record), tenant);
          assert.equal(view.block(tenant)?.blockId, record?.block?.blockId, tenant);
        }
      }),
    );
  });

  it('holds the same view after compaction of the histories the producers make, zombies and scorers included', () => {
    fc.assert(
      fc.property(producedHistory, (events) => {
        const full = viewAfter(events);
        assert.deepEqual(state(full), state(viewAfter(compacted(events))));
        // The producers unblock the block in force: whatever lags, no unblock lifts another block.
        const view = new BlockView();
        for (const event of events) {
          const transition = view.transition(event);
          if (transition?.kind === 'unblocked')
            assert.equal(
              transition.unblock.blockId,
              transition.lifted?.blockId,
              'an unblock lifts the block it names',
            );
          view.apply(event, transition);
        }
        const directory = directoryAfter(events);
        assert.deepEqual(
          state(full).map(([, blockId]) => blockId),
          TENANTS.map((tenant) => directory.tenant(tenant)?.block?.blockId ?? null),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a lifted block lifted: its replay after the unblock reports and changes nothing', () => {
    const view = new BlockView();
    const lifted = block('t1', 0, 0);
    const reported = fold(view, [
      lifted,
      unblockedEvent('t1', lifted.blocked!.blockId, { at: T0 + 2 * HOUR_MS }),
      lifted,
    ]);
    assert.deepEqual(reported, [
      `blocked t1 ${lifted.blocked!.blockId}`,
      `unblocked t1 ${lifted.blocked!.blockId}`,
    ]);
    assert.equal(view.isBlocked('t1'), false);
    // A block of the generation the unblock started is a new episode.
    const next = block('t1', 1, T0 + 2 * HOUR_MS);
    assert.deepEqual(fold(view, [next]), [`blocked t1 ${next.blocked!.blockId}`]);
    assert.equal(view.isBlocked('t1'), true);
  });

  it('reports each change once: a block is lifted only after it was reported, never twice in a row', () => {
    fc.assert(
      fc.property(anyHistory, (events) => {
        const reported = fold(new BlockView(), events);
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
    view.apply(event, transition);
    assert.equal(view.isBlocked('t1'), true);
    assert.equal(view.transition(event), null);
  });
});
