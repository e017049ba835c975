// What would otherwise fail every save, checked once before the services start: the credentials, the ACL
// user's permissions (a probe window created, changed, read back and deleted through the store's own commands,
// on every master), and the replicas REDIS_WAIT_REPLICAS asks for. A problem the operator must fix stops startup
// with one line naming the variable (INVALID_CONFIG), instead of a reconnect loop or a scorer that retries every
// batch forever; a Redis that does not answer is STORE_UNAVAILABLE, naming the variable too.
import { Cluster, type Redis } from 'ioredis';
import { RelayguardError } from '../../core/errors.js';
import { emptyWindow, type TenantWindow, windowVersion } from '../../core/windows.js';
import type { WindowWrite } from '../ports.js';
import type { RedisWindowStore } from './redis-window-store.js';
import { keySlot, windowKeys } from './window-encoding.js';

/** A tenant id no tenant can have (ids start with a letter or digit), so the probe never touches real counts. */
const PROBE_TENANT = '~relayguard-startup-check';
const REFUSED = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i;
// Redis 7.0 words a command refused inside a script as "can't run this command".
const FORBIDDEN = /NOPERM|no permissions|can't run this command/i;

export interface StartupCheckOptions {
  readonly cluster: boolean;
  readonly waitReplicas: number;
  readonly timeoutMs?: number;
}

export async function checkRedis(store: RedisWindowStore, options: StartupCheckOptions): Promise<void> {
  const where = options.cluster ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
  try {
    await connected(store, where, options.timeoutMs ?? 10_000);
    const masters = store.client instanceof Cluster ? store.client.nodes('master') : [store.client];
    if (options.waitReplicas > 0) await enoughReplicas(masters, options.waitReplicas);
    await probeWindows(store, probeTenants(store.client, masters.length));
  } catch (error) {
    // The client would otherwise reconnect forever and keep the process alive.
    store.client.disconnect();
    throw explain(error, where);
  }
}

async function connected(store: RedisWindowStore, where: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((error: Error & { lastNodeError?: Error }) => void) | undefined;
  const ready = store.ready();
  // When the race is lost, the disconnect that follows rejects it: nobody waits for it then.
  ready.catch(() => undefined);
  try {
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        let lastError: Error | undefined;
        // ioredis reports a refused AUTH as an 'error' event and reconnects (a cluster hides it in lastNodeError):
        // credentials that are refused now will be refused on every retry.
        onError = (error) => {
          lastError = error.lastNodeError ?? error;
          if (REFUSED.test(lastError.message) || FORBIDDEN.test(lastError.message)) reject(lastError);
        };
        store.client.on('error', onError);
        timer = setTimeout(
          () =>
            reject(
              lastError ??
                new RelayguardError(
                  'STORE_UNAVAILABLE',
                  `${where}: Redis did not answer within ${timeoutMs} ms`,
                ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onError) store.client.off('error', onError);
  }
}

/** One probe tenant per master: ids whose slot each master serves (one on a single Redis). */
function probeTenants(client: RedisWindowStore['client'], masters: number): string[] {
  if (!(client instanceof Cluster)) return [PROBE_TENANT];
  const byMaster = new Map<string, string>();
  for (let i = 0; byMaster.size < masters && i < 100_000; i++) {
    const tenantId = `${PROBE_TENANT}-${i}`;
    const master = client.slots[keySlot(windowKeys(tenantId)[0])]?.[0];
    if (master !== undefined && !byMaster.has(master)) byMaster.set(master, tenantId);
  }
  return [...byMaster.values()];
}

/**
 * Every command the store sends, through the store: created (HGET, HSET, SET, PEXPIRE, WAIT), changed
 * (HDEL, APPEND), loaded (HGETALL, GET), deleted (DEL).
 */
async function probeWindows(store: RedisWindowStore, tenantIds: readonly string[]): Promise<void> {
  const keys = tenantIds.map((tenantId) => windowKeys(tenantId));
  const remove = () => Promise.all(keys.map((tenantKeys) => store.client.del(...tenantKeys)));
  await remove();
  const first = new Map<string, TenantWindow>();
  for (const tenantId of tenantIds) {
    const window = emptyWindow();
    window.streamMinute = 1;
    window.buckets.set(0, { unregistered: 1, forwarded: 0, total: 1 });
    window.domains.set('probe.invalid', { lastSeen: 0, messages: 1 });
    window.seen.add('probe-1', 0);
    first.set(tenantId, window);
  }
  await saved(
    store,
    [...first].map(([tenantId, window]) => ({ tenantId, expectedVersion: null, window })),
  );
  const changed = [...first].map(([tenantId, window]): WindowWrite => {
    // Written as changes: the bucket and domain deleted, a bucket set, the new fingerprint appended.
    const expectedVersion = windowVersion(window);
    const fingerprints = { generation: window.seen.generation, count: window.seen.count };
    window.buckets.delete(0);
    window.buckets.set(1, { unregistered: 0, forwarded: 0, total: 1 });
    window.domains.delete('probe.invalid');
    window.seen.add('probe-2', 1);
    const changes = {
      minutes: new Set([0, 1]),
      domains: new Set(['probe.invalid']),
      connectors: new Set<string>(),
    };
    return { tenantId, expectedVersion, window, changes: { ...changes, fingerprints } };
  });
  await saved(store, changed);
  const loaded = await store.load(tenantIds);
  if (loaded.size !== tenantIds.length) throw new Error('a probe window saved was not read back');
  await remove();
}

async function saved(
  store: RedisWindowStore,
  writes: Parameters<RedisWindowStore['save']>[0],
): Promise<void> {
  const { conflicts } = await store.save(writes);
  if (conflicts.length > 0)
    throw new Error('a probe window changed while it was written (another startup check?)');
}

async function enoughReplicas(masters: readonly Redis[], wanted: number): Promise<void> {
  for (const master of masters) {
    const info = await master.info('replication');
    const replicas = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
    if (replicas < wanted) {
      throw new RelayguardError(
        'INVALID_CONFIG',
        `REDIS_WAIT_REPLICAS: ${wanted} replica(s) must acknowledge every save, but the Redis master at ${master.options.host}:${master.options.port} has ${replicas} connected`,
        { field: 'REDIS_WAIT_REPLICAS' },
      );
    }
  }
}

/** The error as one line for the operator, naming the variable to fix; never the password. */
function explain(error: unknown, where: string): RelayguardError {
  const cause = error instanceof RelayguardError && error.cause instanceof Error ? error.cause : error;
  const message = (cause as Error).message ?? String(cause);
  if (error instanceof RelayguardError && error.code === 'INVALID_CONFIG') return error;
  if (REFUSED.test(message)) {
    return new RelayguardError(
      'INVALID_CONFIG',
      `REDIS_URL: Redis refused the user and password (${firstLine(message)})`,
      { field: 'REDIS_URL', cause },
    );
  }
  if (FORBIDDEN.test(message)) {
    return new RelayguardError(
      'INVALID_CONFIG',
      `REDIS_URL: the Redis user lacks a permission relayguard needs (${firstLine(message)}); grant the ACL in SECURITY.md`,
      { field: 'REDIS_URL', cause },
    );
  }
  if (error instanceof RelayguardError && error.message.startsWith(where)) return error;
  return new RelayguardError('STORE_UNAVAILABLE', `${where}: Redis is not usable: ${firstLine(message)}`, {
    field: where,
    cause,
  });
}

const firstLine = (text: string) => text.split('\n')[0]!.slice(0, 200);
