// The WindowStore contract: the memory store and the Redis store must pass it unchanged.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { DEFAULT_POLICY } from '../../services/core/policy.js';
import {
  foldTenant,
  NO_BLOCK_STATE,
  type PositionedMessage,
  scoreTenant,
  type TenantContext,
} from '../../services/core/scoring.js';
import { cloneWindow, resetWindow, type TenantWindow } from '../../services/core/windows.js';
import type { WindowStore } from '../../services/platform/ports.js';

export interface WindowStoreFixture {
  readonly store: WindowStore;
  /** Lets `ms` of time pass for the store's expiry (a manual clock, or real time). */
  elapse(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 28, 9);
const context: TenantContext = {
  acceptedDomain: (_t, domain) => (domain === 'acme.example' ? { matchSubdomains: true } : undefined),
  policyOverrides: () => undefined,
  probationUntil: () => null,
  connectorCreatedAt: () => null,
  ...NO_BLOCK_STATE,
};

/** `count` events 7 s apart from offset `firstOffset` (the offset names the event, and its time). */
function events(count: number, firstOffset: number): PositionedMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    position: { partition: 3, offset: String(firstOffset + i) },
    eventId: `event-${firstOffset + i}`,
    message: {
      tenantId: 't',
      occurredAt: T0 + (firstOffset + i) * 7_000,
      senderDomain: i % 3 === 0 ? 'acme.example' : `spam${i % 150}.example`,
      relayPath: i % 5 === 0 ? 'FORWARDED' : 'ONPREM',
      connectorId: `c${i % 2}`,
    },
  }));
}

/**
 * A realistic window: several buckets, tracked domains and connectors, a block, a watermark, the fingerprints of
 * the last minutes' events.
 */
function windowAfter(count: number, previous?: TenantWindow, firstOffset = 0): TenantWindow {
  return scoreTenant(previous, 't', events(count, firstOffset), DEFAULT_POLICY, context).window;
}

/** A window's event fingerprints as a plain array (deepEqual cannot see into the table: its state is private). */
const seenOf = (window: TenantWindow | undefined) => [...(window?.seen.entries() ?? [])];

/** Loads the tenant's window and asserts it is `expected`, fingerprints included; returns it. */
async function assertStored(
  store: WindowStore,
  tenantId: string,
  expected: TenantWindow,
  message?: string,
): Promise<TenantWindow | undefined> {
  const loaded = (await store.load([tenantId])).get(tenantId);
  assert.deepEqual(loaded, expected, message);
  assert.deepEqual(seenOf(loaded), seenOf(expected), message);
  return loaded;
}

export function windowStoreContract(name: string, setup: () => Promise<WindowStoreFixture>) {
  describe(`WindowStore contract: ${name}`, () => {
    it('returns nothing for tenants it never stored', async () => {
      const { store, cleanup } = await setup();
      try {
        assert.equal((await store.load([`t-${randomUUID()}`])).size, 0);
      } finally {
        await cleanup();
      }
    });

    it('stores and loads a window exactly, whatever it holds', async () => {
      const { store, cleanup } = await setup();
      try {
        const tenant = `t-${randomUUID()}`;
        const next = windowAfter(400);
        assert.ok(next.activeBlockId !== null && next.domains.size > 0 && next.buckets.size > 10);
        assert.ok(next.seen.count > 0);
        assert.deepEqual(await store.save([{ tenantId: tenant, expected: undefined, next }]), {
          conflicts: [],
        });
        const loaded = await assertStored(store, tenant, next);

        // An update removes buckets and domains that slid out or were reset.
        const updated = windowAfter(50, loaded, 400);
        resetWindow(updated, T0 + 300 * 7_000);
        assert.deepEqual(
          (await store.save([{ tenantId: tenant, expected: loaded, next: updated }])).conflicts,
          [],
        );
        await assertStored(store, tenant, updated);
      } finally {
        await cleanup();
      }
    });

    it('refuses a write based on a stale window, per tenant, and applies the others', async () => {
      const { store, cleanup } = await setup();
      try {
        const [a, b] = [`t-${randomUUID()}`, `t-${randomUUID()}`];
        const first = windowAfter(10);
        await store.save([
          { tenantId: a, expected: undefined, next: first },
          { tenantId: b, expected: undefined, next: first },
        ]);
        const newer = windowAfter(5, first, 10);
        await store.save([{ tenantId: a, expected: first, next: newer }]);

        // A zombie scorer still holding `first` for a, and a fresh one for b.
        const zombie = windowAfter(3, cloneWindow(first), 10);
        const { conflicts } = await store.save([
          { tenantId: a, expected: first, next: zombie },
          { tenantId: b, expected: first, next: newer },
        ]);
        assert.deepEqual(conflicts, [a]);
        const loaded = await store.load([a, b]);
        assert.deepEqual(loaded.get(a), newer);
        assert.deepEqual(loaded.get(b), newer);

        // Creating a window that another writer created first is a conflict too.
        assert.deepEqual((await store.save([{ tenantId: a, expected: undefined, next: first }])).conflicts, [
          a,
        ]);
      } finally {
        await cleanup();
      }
    });

    it('saves a window it saved again after a fold in place, conditional on what it saved (a cache)', async () => {
      const { store, cleanup } = await setup();
      try {
        const tenant = `t-${randomUUID()}`;
        const cached = windowAfter(200);
        assert.deepEqual(
          (await store.save([{ tenantId: tenant, expected: undefined, next: cached }])).conflicts,
          [],
        );
        // Folded in place twice, saved after each fold with itself as the expected window.
        for (const from of [200, 260]) {
          const folded = windowAfter(60, cached, from);
          Object.assign(cached, folded);
          assert.deepEqual(
            (await store.save([{ tenantId: tenant, expected: cached, next: cached }])).conflicts,
            [],
          );
          await assertStored(store, tenant, cached);
        }
        // Another writer saves in between: the cached window's next save is refused, not trusted.
        const other = (await store.load([tenant])).get(tenant)!;
        await store.save([{ tenantId: tenant, expected: other, next: windowAfter(5, other, 320) }]);
        Object.assign(cached, windowAfter(5, cached, 320));
        assert.deepEqual(
          (await store.save([{ tenantId: tenant, expected: cached, next: cached }])).conflicts,
          [tenant],
        );
      } finally {
        await cleanup();
      }
    });

    it('saves exactly what a window folded in place became, save after save, as it slides and is reset', async () => {
      const { store, cleanup } = await setup();
      try {
        const tenant = `t-${randomUUID()}`;
        const cached = windowAfter(60);
        await store.save([{ tenantId: tenant, expected: undefined, next: cached }]);
        // 12 folds of 60 events 7 s apart: 84 minutes, so buckets slide out of the 60-minute window.
        for (let round = 1; round <= 12; round++) {
          foldTenant(cached, 't', events(60, round * 60), DEFAULT_POLICY, context);
          if (round === 6) resetWindow(cached, T0 + (round * 60 - 30) * 7_000);
          assert.deepEqual(
            (await store.save([{ tenantId: tenant, expected: cached, next: cached }])).conflicts,
            [],
          );
          await assertStored(store, tenant, cached, `after round ${round}`);
        }
      } finally {
        await cleanup();
      }
    });

    it('keeps the fingerprints of events counted across saves: a republished event is known after a load', async () => {
      const { store, cleanup } = await setup();
      try {
        const tenant = `t-${randomUUID()}`;
        const cached = windowAfter(100);
        await store.save([{ tenantId: tenant, expected: undefined, next: cached }]);
        Object.assign(cached, windowAfter(10, cached, 100));
        await store.save([{ tenantId: tenant, expected: cached, next: cached }]);

        // The last 20 events published again, at new offsets: a window loaded afresh counts none of them.
        const loaded = (await store.load([tenant])).get(tenant)!;
        const again = events(20, 90).map((event, i) => ({
          ...event,
          position: { partition: 3, offset: String(200 + i) },
        }));
        const result = scoreTenant(loaded, 't', again, DEFAULT_POLICY, context);
        assert.deepEqual(new Set(result.outcomes), new Set(['republished']));
        assert.equal(result.outcomes.length, 20);
      } finally {
        await cleanup();
      }
    });

    it('forgets a window ttlMs after its last write', async () => {
      const { store, elapse, cleanup } = await setup();
      try {
        const tenant = `t-${randomUUID()}`;
        await store.save([{ tenantId: tenant, expected: undefined, next: windowAfter(5) }]);
        assert.equal((await store.load([tenant])).size, 1);
        await elapse(store.ttlMs + 1);
        assert.equal((await store.load([tenant])).size, 0);
      } finally {
        await cleanup();
      }
    });
  });
}
