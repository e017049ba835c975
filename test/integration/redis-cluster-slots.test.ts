// Every script relayguard runs touches one tenant's keys, and on a Redis Cluster a script may only touch keys of
// one slot (CROSSSLOT otherwise): the keys carry the tenant as a hash tag. Checked by the cluster itself, not by
// ioredis: the save script is sent with a plain connection straight to the master serving the slot, for
// generated tenant ids; the same call with keys of two tenants shows the cluster refuses what it must.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ID_PATTERN } from '../../services/platform/config.js';
import { projectPath } from '../../services/platform/project-files.js';
import { keySlot, windowKeys } from '../../services/platform/redis/window-encoding.js';
import { type ClusterNodeState, type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';

const saveWindowLua = readFileSync(projectPath('services', 'platform', 'redis', 'save-window.lua'), 'utf8');
// A first save of an empty window: expected version none ('-'), next 'v1', a TTL, no fields, fingerprints kept.
const FIRST_SAVE = ['-', 'v1', 60_000, 0, 0, 0, 0, 'keep', ''];

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
        assert.equal(await save(keys), 1);
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
