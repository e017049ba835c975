// The WindowStore contract against a real Redis (Debian's redis-server on a free loopback port) and against a
// real Redis Cluster of three masters with a replica each: the same suite, unchanged.

import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  RedisWindowStore,
  type RedisWindowStoreOptions,
} from '../../services/platform/redis/redis-window-store.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
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
