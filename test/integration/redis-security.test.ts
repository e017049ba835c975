// The Redis window store against Debian's real redis-server with the protections production uses: AUTH with
// `requirepass`, a least-privilege ACL user (the user of SECURITY.md), and TLS with a self-signed certificate
// generated here by openssl. TLS runs in a child process, as a deployed relayguard would, so that
// NODE_EXTRA_CA_CERTS (how a private CA is trusted) applies.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { ExitCode } from '../../services/cli/exit-codes.js';
import { isRelayguardError, type RelayguardError } from '../../services/core/errors.js';
import { emptyWindow } from '../../services/core/windows.js';
import { projectRoot } from '../../services/platform/project-files.js';
import {
  RedisWindowStore,
  type RedisWindowStoreOptions,
} from '../../services/platform/redis/redis-window-store.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';

const run = promisify(execFile);
const PASSWORD = 'p4ss-3b9f1c7e2d8a4f60';
// The ACL of SECURITY.md: the window keys only, and only the commands the store, its script and a cluster
// client use (CLUSTER SLOTS to learn the slots, CLUSTER INFO as its ready check, ASKING to follow a slot being
// migrated, WAIT for REDIS_WAIT_REPLICAS).
const ACL = [
  '~rg:*',
  'resetchannels',
  '-@all',
  '+hgetall',
  '+evalsha',
  '+eval',
  '+hget',
  '+hset',
  '+hdel',
  '+get',
  '+set',
  '+append',
  '+del',
  '+pexpire',
  '+info',
  '+ping',
  '+wait',
  '+cluster|slots',
  '+cluster|info',
  '+asking',
];

/** The ACL user on every node of the cluster: ACLs are per node. */
async function addClusterUser(cluster: RedisCluster): Promise<void> {
  for (const node of cluster.nodes) {
    await cluster.cli('-p', String(node.port), 'ACL', 'SETUSER', 'relayguard', 'on', `>${PASSWORD}`, ...ACL);
  }
}

function window() {
  const next = emptyWindow();
  next.streamMinute = 29_000_000;
  next.buckets.set(29_000_000, { unregistered: 2, forwarded: 0, total: 5 });
  next.watermark = { partition: 3, offset: '17' };
  return next;
}

async function roundTrip(url: string, tenantId: string): Promise<number | undefined> {
  const store = new RedisWindowStore({ url, ttlMs: 60_000 });
  try {
    await store.ready();
    assert.deepEqual(await store.save([{ tenantId, expectedVersion: null, window: window() }]), {
      conflicts: [],
    });
    return (await store.load([tenantId])).get(tenantId)?.window.buckets.get(29_000_000)?.total;
  } finally {
    await store.close();
  }
}

describe('Redis AUTH and ACL', () => {
  let redis: RedisServer;
  let admin: Redis;
  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'relayguard', 'on', `>${PASSWORD}`, ...ACL);
  });
  after(async () => {
    admin.disconnect();
    await redis.stop();
  });

  it('works as a least-privilege ACL user, which can touch nothing but the window keys', async () => {
    assert.equal(await roundTrip(`redis://relayguard:${PASSWORD}@127.0.0.1:${redis.port}`, 'acl'), 5);
    const limited = new Redis(`redis://relayguard:${PASSWORD}@127.0.0.1:${redis.port}`);
    try {
      await assert.rejects(limited.flushall(), /NOPERM/);
      await assert.rejects(limited.rpush('rg:{t:acme}:w', 'x'), /NOPERM/);
      await assert.rejects(limited.hgetall('other-key'), /NOPERM/);
    } finally {
      limited.disconnect();
    }
  });

  it('works with requirepass, and a wrong password is an unavailable store whose error names no password', async () => {
    await admin.config('SET', 'requirepass', PASSWORD);
    try {
      assert.equal(await roundTrip(`redis://:${PASSWORD}@127.0.0.1:${redis.port}`, 'requirepass'), 5);
      const wrong = new RedisWindowStore({
        url: `redis://:wrong-${PASSWORD}@127.0.0.1:${redis.port}`,
        ttlMs: 60_000,
      });
      (wrong.client as unknown as NodeJS.EventEmitter).on('error', () => {});
      try {
        const error = await wrong.load(['acme']).then(
          () => assert.fail('loaded without the password'),
          (e: unknown) => e,
        );
        assert.ok(isRelayguardError(error) && error.code === 'STORE_UNAVAILABLE', String(error));
        assert.ok(!error.message.includes(PASSWORD), 'the password is not in the error');
      } finally {
        wrong.client.disconnect();
      }
    } finally {
      await admin.auth(PASSWORD);
      await admin.config('SET', 'requirepass', '');
    }
  });
});

describe('Redis over TLS', () => {
  let redis: RedisServer;
  let cluster: RedisCluster;
  let dir: string;
  let tlsPort: number;
  let cert: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'relayguard-tls-'));
    cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    // The plain port stays for the launcher's readiness check; clients use the TLS port.
    redis = await startRedis({ tls: { certFile: cert, keyFile: key, caFile: cert } });
    tlsPort = redis.tlsPort!;
    const admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'relayguard', 'on', `>${PASSWORD}`, ...ACL);
    admin.disconnect();
    // TLS for clients, the cluster bus and replication; the ACL user on every node (ACLs are per node).
    cluster = await startRedisCluster({ tls: { certFile: cert, keyFile: key, caFile: cert } });
    await addClusterUser(cluster);
  });
  after(async () => {
    await Promise.all([redis?.stop(), cluster?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function probe(url: string, trustCertificate: boolean, cluster?: RedisCluster) {
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: trustCertificate ? cert : '' };
    const nodes = cluster ? [cluster.nodes.map((node) => `${node.host}:${node.port}`).join(',')] : [];
    const result = await run(
      process.execPath,
      ['--import', 'tsx', 'test/support/probes/redis-store-probe.ts', url, ...nodes],
      {
        cwd: projectRoot,
        env,
        timeout: 30_000,
      },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '' }),
    );
    return {
      code: result.code,
      ...(JSON.parse(result.stdout.trim() || '{}') as { ok?: boolean; total?: number }),
    };
  }

  it('saves and loads over rediss:// as the ACL user when the certificate is trusted', async () => {
    const result = await probe(`rediss://relayguard:${PASSWORD}@127.0.0.1:${tlsPort}`, true);
    assert.deepEqual(result, { code: 0, ok: true, conflicts: [], total: 7 });
  });

  it('refuses a server whose certificate it does not trust, and plain TCP to the TLS port fails', async () => {
    assert.equal((await probe(`rediss://relayguard:${PASSWORD}@127.0.0.1:${tlsPort}`, false)).ok, false);
    assert.equal((await probe(`redis://relayguard:${PASSWORD}@127.0.0.1:${tlsPort}`, true)).ok, false);
  });

  it('saves and loads on a Redis Cluster over TLS as the ACL user; a client that does not trust it is refused', async () => {
    const url = `rediss://relayguard:${PASSWORD}@127.0.0.1:${cluster.nodes[0]!.port}`;
    assert.deepEqual(await probe(url, true, cluster), { code: 0, ok: true, conflicts: [], total: 7 });
    // Refused; ioredis' cluster client sometimes lets the TLS alert escape as an unhandled socket error then, so
    // the probe may die of it instead of reporting.
    const untrusted = await probe(url, false, cluster);
    assert.notEqual(untrusted.code, 0);
    assert.notEqual(untrusted.ok, true);
  });
});

describe('a Redis relayguard cannot use stops startup with one line naming the variable', () => {
  let redis: RedisServer;
  let cluster: RedisCluster;
  before(async () => {
    [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
    const admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'relayguard', 'on', `>${PASSWORD}`, ...ACL);
    // What an ACL copied from an older SECURITY.md lacks: the script's HDEL.
    const withoutHdel = ACL.filter((rule) => rule !== '+hdel');
    await admin.call('ACL', 'SETUSER', 'no-hdel', 'on', `>${PASSWORD}`, ...withoutHdel);
    admin.disconnect();
    await addClusterUser(cluster);
  });
  after(() => Promise.all([redis?.stop(), cluster?.stop()]));

  async function startupError(options: Omit<RedisWindowStoreOptions, 'ttlMs'>): Promise<RelayguardError> {
    const store = new RedisWindowStore({ ...options, ttlMs: 60_000 });
    (store.client as unknown as NodeJS.EventEmitter).on('error', () => {});
    const started = Date.now();
    try {
      const error = await store.verify().then(
        () => assert.fail('the startup check passed'),
        (e: unknown) => e,
      );
      assert.ok(isRelayguardError(error), String(error));
      assert.ok(Date.now() - started < 5_000, 'refused at once, not after a retry loop');
      assert.doesNotMatch(error.message, /\n/, 'one line');
      assert.ok(!error.message.includes(PASSWORD), 'the password is not in the message');
      return error;
    } finally {
      store.client.disconnect();
    }
  }

  it('a wrong password, on one Redis and on a cluster', async () => {
    for (const options of [
      { url: `redis://relayguard:wrong-${PASSWORD}@127.0.0.1:${redis.port}` },
      { url: `redis://relayguard:wrong-${PASSWORD}@127.0.0.1:1`, clusterNodes: cluster.nodes },
    ]) {
      const error = await startupError(options);
      assert.equal(error.code, 'INVALID_CONFIG');
      assert.equal(error.field, 'REDIS_URL');
      assert.match(error.message, /^REDIS_URL: Redis refused the user and password \(WRONGPASS/);
    }
  });

  it('an ACL user without a command the save script runs', async () => {
    const error = await startupError({ url: `redis://no-hdel:${PASSWORD}@127.0.0.1:${redis.port}` });
    assert.equal(error.code, 'INVALID_CONFIG');
    assert.match(error.message, /^REDIS_URL: the Redis user lacks a permission relayguard needs/);
  });

  it('REDIS_WAIT_REPLICAS beyond the replicas a master has', async () => {
    const error = await startupError({
      url: `redis://relayguard:${PASSWORD}@127.0.0.1:${redis.port}`,
      waitReplicas: 1,
    });
    assert.equal(error.field, 'REDIS_WAIT_REPLICAS');
    assert.match(
      error.message,
      /^REDIS_WAIT_REPLICAS: 1 replica\(s\) must acknowledge every save, but .* has 0/,
    );
    // The cluster's masters have one replica each: 1 passes there, 2 does not.
    const store = new RedisWindowStore({
      url: `redis://relayguard:${PASSWORD}@127.0.0.1:1`,
      clusterNodes: cluster.nodes,
      ttlMs: 60_000,
      waitReplicas: 1,
    });
    try {
      await store.verify();
    } finally {
      await store.close();
    }
    const two = await startupError({
      url: `redis://relayguard:${PASSWORD}@127.0.0.1:1`,
      clusterNodes: cluster.nodes,
      waitReplicas: 2,
    });
    assert.equal(two.field, 'REDIS_WAIT_REPLICAS');
  });

  it('`relayguard scorer` exits with the configuration exit code and that line', async () => {
    const result = await run(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'scorer'], {
      cwd: projectRoot,
      timeout: 30_000,
      env: {
        ...process.env,
        KAFKA_BROKERS: '127.0.0.1:1',
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
        REDIS_URL: `redis://relayguard:wrong-${PASSWORD}@127.0.0.1:${redis.port}`,
        RELAYGUARD_HTTP_PORT: '0',
        RELAYGUARD_LOG_LEVEL: 'silent',
      },
    }).then(
      () => assert.fail('relayguard scorer started'),
      (error: { code?: number; stderr?: string }) => error,
    );
    assert.equal(result.code, ExitCode.CONFIG);
    const stderr = result.stderr ?? '';
    assert.match(stderr, /REDIS_URL: Redis refused the user and password/);
    assert.ok(!stderr.includes(PASSWORD), 'the password is not printed');
  });
});
