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
import { isRelayguardError } from '../../services/core/errors.js';
import { emptyWindow } from '../../services/core/windows.js';
import { projectRoot } from '../../services/platform/project-files.js';
import { RedisWindowStore } from '../../services/platform/redis/redis-window-store.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { freePort } from '../support/tether.js';

const run = promisify(execFile);
const PASSWORD = 'p4ss-3b9f1c7e2d8a4f60';
// The ACL of SECURITY.md: the window keys only, and only the commands the store and its script use.
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
  '+exists',
  '+info',
  '+ping',
];

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
    assert.deepEqual(await store.save([{ tenantId, expected: undefined, next: window() }]), {
      conflicts: [],
    });
    return (await store.load([tenantId])).get(tenantId)?.buckets.get(29_000_000)?.total;
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
    tlsPort = await freePort();
    // The plain port stays for the launcher's readiness check; clients use the TLS port.
    redis = await startRedis({
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        cert,
        '--tls-key-file',
        key,
        '--tls-ca-cert-file',
        cert,
        '--tls-auth-clients',
        'no',
      ],
    });
    const admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'relayguard', 'on', `>${PASSWORD}`, ...ACL);
    admin.disconnect();
  });
  after(async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function probe(url: string, trustCertificate: boolean) {
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: trustCertificate ? cert : '' };
    const result = await run(
      process.execPath,
      ['--import', 'tsx', 'test/support/probes/redis-store-probe.ts', url],
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
});
