// The WindowStore contract: the memory store and the Redis store must pass it unchanged.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { BatchFold, scoreTenant } from '../../services/core/fold.js';
import { DEFAULT_POLICY } from '../../services/core/policy.js';
import {
  NO_BLOCK_STATE,
  type PositionedMessage,
  positioned,
  type TenantContext,
} from '../../services/core/scoring.js';
import { NO_STANDING } from '../../services/core/tenant-terms.js';
import {
  emptyWindow,
  noChanges,
  resetWindow,
  type TenantWindow,
  type WindowChanges,
  windowVersion,
} from '../../services/core/windows.js';
import type { StoredWindow, WindowStore, WindowWrite } from '../../services/platform/ports.js';
import { withFixture } from '../support/tether.js';

export interface WindowStoreFixture {
  readonly store: WindowStore;
  /** Lets `ms` of time pass for the store's expiry (a manual clock, or real time). */
  elapse(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 28, 9);
const context: TenantContext = {
  acceptedDomain: (_t, domain) => (domain === 'acme.example' ? { matchSubdomains: true } : undefined),
  standing: () => NO_STANDING,
  connectorCreatedAt: () => null,
  ...NO_BLOCK_STATE,
};

/**
 * The connector of the event at `offset`: some come through none ('unknown'), and c2 stops at offset 200 (23 min),
 * so a window kept long enough sees a connector slide out.
 */
const connectorAt = (offset: number) => (offset % 7 === 0 ? null : `c${offset % (offset < 200 ? 3 : 2)}`);

/** `count` events 7 s apart from offset `firstOffset` (the offset names the event, and its time). */
function events(count: number, firstOffset: number): PositionedMessage[] {
  return Array.from({ length: count }, (_, i) =>
    positioned(
      {
        tenantId: 't',
        occurredAt: T0 + (firstOffset + i) * 7_000,
        senderDomain: i % 3 === 0 ? 'acme.example' : `spam${i % 150}.example`,
        relayPath: i % 5 === 0 ? 'FORWARDED' : 'ONPREM',
        connectorId: connectorAt(firstOffset + i),
      },
      { partition: 3, offset: String(firstOffset + i) },
      `event-${firstOffset + i}`,
    ),
  );
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

/** Loads the tenant's window and asserts it is `expected`, fingerprints and version included; returns it. */
async function assertStored(
  store: WindowStore,
  tenantId: string,
  expected: TenantWindow,
  message?: string,
): Promise<StoredWindow | undefined> {
  const loaded = (await store.load([tenantId])).get(tenantId);
  assert.deepEqual(loaded?.window, expected, message);
  assert.deepEqual(seenOf(loaded?.window), seenOf(expected), message);
  assert.equal(loaded?.version, windowVersion(expected), message);
  return loaded;
}

/**
 * A window kept between saves as a scorer's cache keeps it: folded in place, recording what each fold changed,
 * saved as those changes on the version last saved.
 */
class Kept {
  readonly window: TenantWindow;
  version: string | null;
  changes: WindowChanges = noChanges();
  #fingerprints: { generation: number; count: number };

  constructor(stored: StoredWindow | undefined) {
    this.window = stored?.window ?? emptyWindow();
    this.version = stored?.version ?? null;
    this.#fingerprints = { generation: this.window.seen.generation, count: this.window.seen.count };
  }

  fold(count: number, firstOffset: number): this {
    new BatchFold(DEFAULT_POLICY, context).tenant(this.window, 't', events(count, firstOffset), this.changes);
    return this;
  }

  write(tenantId: string): WindowWrite {
    const { window, version } = this;
    if (version === null) return { tenantId, expectedVersion: null, window };
    return {
      tenantId,
      expectedVersion: version,
      window,
      changes: { ...this.changes, fingerprints: this.#fingerprints },
    };
  }

  async save(store: WindowStore, tenantId: string): Promise<string[]> {
    const { conflicts } = await store.save([this.write(tenantId)]);
    if (conflicts.length === 0) {
      this.version = windowVersion(this.window);
      this.changes = noChanges();
      this.#fingerprints = { generation: this.window.seen.generation, count: this.window.seen.count };
    }
    return conflicts;
  }
}

export function windowStoreContract(name: string, setup: () => Promise<WindowStoreFixture>) {
  describe(`WindowStore contract: ${name}`, () => {
    it('returns nothing for tenants it never stored', () =>
      withFixture(setup, async ({ store }) => {
        assert.equal((await store.load([`t-${randomUUID()}`])).size, 0);
      }));

    it('stores and loads a window exactly, whatever it holds, with its version', () =>
      withFixture(setup, async ({ store }) => {
        const tenant = `t-${randomUUID()}`;
        const window = windowAfter(400);
        assert.ok(window.activeBlockId !== null && window.domains.size > 0 && window.buckets.size > 10);
        assert.ok(window.seen.count > 0);
        assert.deepEqual(await store.save([{ tenantId: tenant, expectedVersion: null, window }]), {
          conflicts: [],
        });
        const loaded = await assertStored(store, tenant, window);

        // Written as the changes of a fold and a reset: buckets and domains that slid out or were reset go.
        const kept = new Kept(loaded).fold(50, 400);
        resetWindow(kept.window, T0 + 300 * 7_000, kept.changes);
        assert.deepEqual(await kept.save(store, tenant), []);
        await assertStored(store, tenant, kept.window);
      }));

    it('stores fields of any text: a connector id and domain of several-byte characters, colons and newlines', () =>
      withFixture(setup, async ({ store }) => {
        const tenant = `t-${randomUUID()}`;
        const odd = events(40, 0).map((event, i) => ({
          ...event,
          senderDomain: i % 2 === 0 ? 'bücher-€.example' : 'spam.example',
          connectorId: i % 3 === 0 ? 'çonnector:\n€😀' : 'c1',
        }));
        const window = scoreTenant(undefined, 't', odd, DEFAULT_POLICY, context).window;
        assert.ok(window.domains.has('bücher-€.example') && window.connectors.has('çonnector:\n€😀'));
        await store.save([{ tenantId: tenant, expectedVersion: null, window }]);
        await assertStored(store, tenant, window);
      }));

    it('writes a window without changes whole, replacing what it held (rebuild-windows)', () =>
      withFixture(setup, async ({ store }) => {
        const tenant = `t-${randomUUID()}`;
        const old = windowAfter(400);
        await store.save([{ tenantId: tenant, expectedVersion: null, window: old }]);
        const rebuilt = windowAfter(30, undefined, 600);
        assert.deepEqual(
          (await store.save([{ tenantId: tenant, expectedVersion: windowVersion(old), window: rebuilt }]))
            .conflicts,
          [],
        );
        await assertStored(store, tenant, rebuilt);
      }));

    it('refuses a write based on a stale version, per tenant, and applies the others', () =>
      withFixture(setup, async ({ store }) => {
        const [a, b] = [`t-${randomUUID()}`, `t-${randomUUID()}`];
        const first = windowAfter(10);
        await store.save([
          { tenantId: a, expectedVersion: null, window: first },
          { tenantId: b, expectedVersion: null, window: first },
        ]);
        const newer = windowAfter(5, first, 10);
        await store.save([{ tenantId: a, expectedVersion: windowVersion(first), window: newer }]);

        // A zombie scorer still holding `first` for a, and a fresh one for b.
        const zombie = windowAfter(3, first, 10);
        const { conflicts } = await store.save([
          { tenantId: a, expectedVersion: windowVersion(first), window: zombie },
          { tenantId: b, expectedVersion: windowVersion(first), window: newer },
        ]);
        assert.deepEqual(conflicts, [a]);
        const loaded = await store.load([a, b]);
        assert.deepEqual(loaded.get(a)?.window, newer);
        assert.deepEqual(loaded.get(b)?.window, newer);

        // Creating a window that another writer created first is a conflict too.
        assert.deepEqual(
          (await store.save([{ tenantId: a, expectedVersion: null, window: first }])).conflicts,
          [a],
        );
      }));

    it('saves hundreds of tenants in one save, each on its own version: the stale ones refused, the rest applied', () =>
      withFixture(setup, async ({ store }) => {
        const tenants = Array.from({ length: 300 }, () => `t-${randomUUID()}`);
        const first = windowAfter(10);
        const newer = windowAfter(5, first, 10);
        await store.save(tenants.map((tenantId) => ({ tenantId, expectedVersion: null, window: first })));
        const stale = tenants.filter((_, i) => i % 7 === 3);
        await store.save(
          stale.map((tenantId) => ({ tenantId, expectedVersion: windowVersion(first), window: newer })),
        );

        const zombie = windowAfter(3, first, 10);
        const { conflicts } = await store.save(
          tenants.map((tenantId) => ({
            tenantId,
            expectedVersion: windowVersion(first),
            window: stale.includes(tenantId) ? zombie : newer,
          })),
        );
        assert.deepEqual(conflicts.sort(), [...stale].sort());
        const loaded = await store.load(tenants);
        assert.equal(loaded.size, tenants.length);
        for (const tenantId of tenants) assert.deepEqual(loaded.get(tenantId)?.window, newer, tenantId);
      }));

    it('saves the changes of a window kept between saves, and refuses them once another writer saved', () =>
      withFixture(setup, async ({ store }) => {
        const tenant = `t-${randomUUID()}`;
        const kept = new Kept(undefined).fold(200, 0);
        assert.deepEqual(await kept.save(store, tenant), []);
        for (const from of [200, 260]) {
          assert.deepEqual(await kept.fold(60, from).save(store, tenant), []);
          await assertStored(store, tenant, kept.window);
        }
        // Another writer saves in between: the kept window's next save is refused, not trusted.
        const other = new Kept((await store.load([tenant])).get(tenant)).fold(5, 320);
        assert.deepEqual(await other.save(store, tenant), []);
        assert.deepEqual(await kept.fold(5, 320).save(store, tenant), [tenant]);
        await assertStored(store, tenant, other.window);
      }));

    it('saves exactly what a kept window became, save after save, as it slides and is reset', () =>
      withFixture(setup, async ({ store }) => {
        const tenant = `t-${randomUUID()}`;
        const kept = new Kept(undefined).fold(60, 0);
        assert.deepEqual(await kept.save(store, tenant), []);
        // 12 folds of 60 events 7 s apart: 84 minutes, so buckets slide out of the 60-minute window.
        for (let round = 1; round <= 12; round++) {
          kept.fold(60, round * 60);
          if (round === 6) resetWindow(kept.window, T0 + (round * 60 - 30) * 7_000, kept.changes);
          assert.deepEqual(await kept.save(store, tenant), []);
          await assertStored(store, tenant, kept.window, `after round ${round}`);
          // Each connector's counts as well as the tenant's: c2 slid out, the mail of no connector is 'unknown'.
          if (round === 12)
            assert.deepEqual([...kept.window.connectors.keys()].sort(), ['c0', 'c1', 'unknown']);
        }
      }));

    it('keeps the fingerprints of events counted across saves: a republished event is known after a load', () =>
      withFixture(setup, async ({ store }) => {
        const tenant = `t-${randomUUID()}`;
        const kept = new Kept(undefined).fold(100, 0);
        await kept.save(store, tenant);
        await kept.fold(10, 100).save(store, tenant);

        // The last 20 events published again, at new offsets: a window loaded afresh counts none of them.
        const loaded = (await store.load([tenant])).get(tenant)!;
        const again = events(20, 90).map((event, i) => ({ ...event, offset: String(200 + i) }));
        const result = scoreTenant(loaded.window, 't', again, DEFAULT_POLICY, context);
        assert.deepEqual(new Set(result.outcomes), new Set(['republished']));
        assert.equal(result.outcomes.length, 20);
      }));

    it('reads the versions load returns, without the windows: absent when not stored or expired', () =>
      withFixture(setup, async ({ store, elapse }) => {
        const [stored, rewritten, never] = [`t-${randomUUID()}`, `t-${randomUUID()}`, `t-${randomUUID()}`];
        assert.deepEqual(await store.versions([]), new Map());
        await store.save([
          { tenantId: stored, expectedVersion: null, window: windowAfter(400) },
          { tenantId: rewritten, expectedVersion: null, window: windowAfter(5) },
        ]);
        const kept = new Kept((await store.load([rewritten])).get(rewritten)).fold(5, 320);
        assert.deepEqual(await kept.save(store, rewritten), []);
        const tenants = [stored, never, rewritten];
        const loaded = await store.load(tenants);
        const versions = await store.versions(tenants);
        assert.deepEqual(
          versions,
          new Map([...loaded].map(([tenantId, { version }]) => [tenantId, version])),
        );
        assert.deepEqual([...versions.keys()].sort(), [stored, rewritten].sort());
        assert.equal(versions.get(rewritten), windowVersion(kept.window));
        await elapse(store.ttlMs + 1);
        assert.equal((await store.versions(tenants)).size, 0);
      }));

    it('forgets a window ttlMs after its last write', () =>
      withFixture(setup, async ({ store, elapse }) => {
        const tenant = `t-${randomUUID()}`;
        await store.save([{ tenantId: tenant, expectedVersion: null, window: windowAfter(5) }]);
        assert.equal((await store.load([tenant])).size, 1);
        await elapse(store.ttlMs + 1);
        assert.equal((await store.load([tenant])).size, 0);
      }));
  });
}
