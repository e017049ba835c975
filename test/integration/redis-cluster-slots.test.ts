// Every script relayguard runs touches one tenant's keys, and on a Redis Cluster a script may only touch keys of
// one slot (CROSSSLOT otherwise): the keys carry the tenant as a hash tag. Checked by the cluster itself, not by
// ioredis: the save script is sent with a plain connection straight to the master serving the slot, for
// generated tenant ids; the same call with keys of two tenants shows the cluster refuses what it must. Then a
// tenant's slot is moved by hand, step by step as `redis-cli --cluster reshard` moves it, between its saves.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { emptyWindow, type TenantWindow, windowVersion } from '../../services/core/windows.js';
import { ID_PATTERN } from '../../services/platform/config.js';
import { projectPath } from '../../services/platform/project-files.js';
import { WritePacker } from '../../services/platform/redis/packed-writes.js';
import { RedisWindowStore } from '../../services/platform/redis/redis-window-store.js';
import { keySlot, windowKeys } from '../../services/platform/redis/window-encoding.js';
import { type ClusterNodeState, type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';

const saveWindowLua = readFileSync(projectPath('services', 'platform', 'redis', 'save-window.lua'), 'utf8');
// A first save of an empty window: expected version none ('-'), a TTL, written whole.
const firstSave = new WritePacker();
firstSave.add('-', emptyWindow(), undefined);
const FIRST_SAVE = [60_000, firstSave.take(0)];

describe('Redis Cluster: every script stays in one slot', () => {
  let cluster: RedisCluster;
  let masters: ClusterNodeState[];
  const connections = new Map<number, Redis>();
  before(async () => {
    cluster = await startRedisCluster();
    masters = await cluster.masters();
    for (const master of masters) connections.set(master.port, new Redis(master.port, '127.0.0.1'));
  });
  after(async () => {
    for (const connection of connections.values()) connection.disconnect();
    await cluster?.stop();
  });

  /** The plain connection to the master that serves the key's slot. */
  const ownerOf = (key: string): Redis => {
    const slot = keySlot(key);
    const master = masters.find((node) => node.ranges.some(([from, to]) => from <= slot && slot <= to));
    return connections.get(master!.port)!;
  };
  const save = (keys: readonly string[]) =>
    ownerOf(keys[0]!).eval(saveWindowLua, keys.length, ...keys, ...FIRST_SAVE);

  it('runs the save script for any tenant id, on the master of its slot', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(ID_PATTERN), async (tenantId) => {
        const keys = windowKeys(tenantId);
        assert.equal(new Set(keys.map(keySlot)).size, 1, `${keys.join(' ')} in one slot`);
        await ownerOf(keys[0]).del(...keys);
        assert.deepEqual(await save(keys), [1]);
      }),
      { numRuns: 200 },
    );
  });

  it('is refused with CROSSSLOT when a call mixes two tenants, which the hash tags prevent', async () => {
    // Two tenants whose keys fall in different slots of the same master: only the slot check can refuse it.
    let other = 0;
    const [main] = windowKeys('acme');
    while (
      keySlot(windowKeys(`t${other}`)[0]) === keySlot(main) ||
      ownerOf(windowKeys(`t${other}`)[0]) !== ownerOf(main)
    )
      other++;
    const [, tracked, seen] = windowKeys(`t${other}`);
    await assert.rejects(save([main, tracked, seen]), /CROSSSLOT/);
  });
});

describe('Redis Cluster: a tenant whose slot moves between two saves', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(() => cluster?.stop());

  /** A window with keys in all three hashes' places: counts, tracked domains, fingerprints. */
  function window(total: number): TenantWindow {
    const next = emptyWindow();
    next.streamMinute = 29_000_000;
    next.buckets.set(29_000_000, { unregistered: 1, forwarded: 0, total });
    next.domains.set('spam.example', { lastSeen: 29_000_000, messages: total });
    next.seen.add(`event-${total}`, 29_000_000);
    return next;
  }

  it('is saved and loaded while its keys are migrating (ASK) and after the move (MOVED), without an error', async () => {
    // Saves wait for a replica, and each goes with a tenant that stays: one pipeline to the source master holds
    // a command that runs and one that is redirected, which ioredis does not follow by itself.
    const store = new RedisWindowStore({
      url: cluster.url,
      clusterNodes: cluster.nodes,
      ttlMs: 60_000,
      waitReplicas: 1,
    });
    try {
      await store.verify();
      const tenantId = 'moving-tenant';
      const keys = windowKeys(tenantId);
      const slot = keySlot(keys[0]);
      const masters = await cluster.masters();
      const source = masters.find((node) => node.ranges.some(([from, to]) => from <= slot && slot <= to))!;
      const servedBySource = (id: string) =>
        source.ranges.some(
          ([from, to]) => from <= keySlot(windowKeys(id)[0]) && keySlot(windowKeys(id)[0]) <= to,
        );
      let n = 0;
      while (!servedBySource(`staying-${n}`) || keySlot(windowKeys(`staying-${n}`)[0]) === slot) n++;
      const staying = `staying-${n}`;
      let current = window(1);
      let stays = window(1);
      const both = async (next: TenantWindow, nextStays: TenantWindow) => {
        const { conflicts } = await store.save([
          { tenantId, expectedVersion: windowVersion(current), window: next },
          { tenantId: staying, expectedVersion: windowVersion(stays), window: nextStays },
        ]);
        assert.deepEqual(conflicts, []);
        current = next;
        stays = nextStays;
        const loaded = await store.load([tenantId, staying]);
        return [tenantId, staying].map((id) => loaded.get(id)?.window.buckets.get(29_000_000)?.total);
      };
      assert.deepEqual(
        (
          await store.save([
            { tenantId, expectedVersion: null, window: current },
            { tenantId: staying, expectedVersion: null, window: stays },
          ])
        ).conflicts,
        [],
      );

      const target = masters.find((node) => node !== source)!;
      const on = (node: ClusterNodeState, ...args: string[]) => cluster.cli('-p', String(node.port), ...args);
      await on(target, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id);
      await on(source, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
      await on(source, 'MIGRATE', '127.0.0.1', String(target.port), '', '0', '5000', 'KEYS', ...keys);

      // The source answers ASK: the keys are on the target, which takes them only after ASKING.
      assert.deepEqual(await both(window(2), window(2)), [2, 2]);

      for (const node of masters) await on(node, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id);
      // The store still routes the slot to the source, which answers MOVED.
      assert.deepEqual(await both(window(3), window(3)), [3, 3]);
      const onTarget = new Redis(target.port, '127.0.0.1');
      try {
        assert.equal(await onTarget.exists(...keys), 3, 'the window lives on the target now');
      } finally {
        onTarget.disconnect();
      }
    } finally {
      await store.close();
    }
  });
});
