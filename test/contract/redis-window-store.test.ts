// The WindowStore contract against a real Redis (Debian's redis-server on a free loopback port) and against a
// real Redis Cluster of three masters with a replica each: the same suite, unchanged.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isRelayguardError } from '../../services/core/errors.js';
import { emptyWindow } from '../../services/core/windows.js';
import {
  RedisWindowStore,
  type RedisWindowStoreOptions,
} from '../../services/platform/redis/redis-window-store.js';
import { windowKeys } from '../../services/platform/redis/window-encoding.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { withFixture } from '../support/tether.js';
import { type WindowStoreFixture, windowStoreContract } from './window-store.contract.js';

let redis: RedisServer;
let cluster: RedisCluster;
before(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});
after(() => Promise.all([redis?.stop(), cluster?.stop()]));

async function fixture(options: Omit<RedisWindowStoreOptions, 'ttlMs'>): Promise<WindowStoreFixture> {
  const store = new RedisWindowStore({ ...options, ttlMs: 3000 });
  await store.ready();
  return {
    store,
    // Redis expires keys by its own clock: real time has to pass. The TTL is long enough that a loaded machine
    // cannot expire the key between the save and the first load of the test.
    elapse: (ms) => sleep(ms),
    cleanup: () => store.close(),
  };
}

windowStoreContract('redis', () => fixture({ url: redis.url }));
windowStoreContract('redis cluster', () => fixture({ url: cluster.url, clusterNodes: cluster.nodes }));

/**
 * A save of many tenants goes to Redis in few script calls; a window whose write Redis refuses (here its keys hold a
 * value of another type) fails alone: the others are written and named as applied, as separate calls would have.
 */
for (const [name, options] of [
  ['redis', () => ({ url: redis.url })],
  ['redis cluster', () => ({ url: cluster.url, clusterNodes: cluster.nodes })],
] as const) {
  describe(`RedisWindowStore: a window Redis cannot write, among others (${name})`, () => {
    it('is the only one not applied, and the error names the applied ones', () =>
      withFixture(
        () => fixture(options()),
        async ({ store }) => {
          const redisStore = store as RedisWindowStore;
          const tenants = Array.from({ length: 40 }, () => `t-${randomUUID()}`);
          const broken = tenants[17]!;
          await redisStore.client.set(windowKeys(broken)[0], 'not a hash');
          const window = emptyWindow();
          window.streamMinute = 29_000_000;
          window.buckets.set(29_000_000, { unregistered: 1, forwarded: 0, total: 2 });
          window.domains.set('spam.example', { lastSeen: 29_000_000, messages: 1 });
          const error = await redisStore
            .save(tenants.map((tenantId) => ({ tenantId, expectedVersion: null, window })))
            .then(
              () => assert.fail('the save succeeded'),
              (failure: unknown) => failure,
            );
          assert.ok(isRelayguardError(error) && error.code === 'STORE_UNAVAILABLE', String(error));
          assert.match(error.message, /WRONGTYPE/);
          const applied = (error.details?.applied ?? []) as string[];
          assert.deepEqual([...applied].sort(), tenants.filter((tenantId) => tenantId !== broken).sort());
          const loaded = await redisStore.load(tenants.filter((tenantId) => tenantId !== broken));
          assert.equal(loaded.size, tenants.length - 1);
          await redisStore.client.del(...windowKeys(broken));
        },
      ));
  });
}
