// The WindowStore contract against a real Redis (Debian's redis-server on a free loopback port).

import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisWindowStore } from '../../services/platform/redis/redis-window-store.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { windowStoreContract } from './window-store.contract.js';

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(() => redis.stop());

windowStoreContract('redis', async () => {
  const store = new RedisWindowStore({ url: redis.url, ttlMs: 3000 });
  await store.ready();
  return {
    store,
    // Redis expires keys by its own clock: real time has to pass. The TTL is long enough that a loaded machine
    // cannot expire the key between the save and the first load of the test.
    elapse: (ms) => sleep(ms),
    cleanup: () => store.close(),
  };
});
