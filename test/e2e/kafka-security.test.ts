// Kafka security as users deploy it: `relayguard scorer`, `enforcer` and `admin` as processes, connecting to the
// real broker's SASL/SCRAM-SHA-512 listener over TLS (KAFKA_SSL, KAFKA_SASL_*; the test CA through
// NODE_EXTRA_CA_CERTS), with ACLs enforced. Each service's principal holds only the ACLs deploy/RUNBOOK.md lists for
// it (test/support/kafka-acls.ts) and starts with them; a wrong password, a principal without ACLs and an enforcer
// missing a Read it needs stop startup at once with one line naming the variable and the refused resource, not a
// retry loop.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topics } from '../../services/core/topics.js';
import { ensureTopics } from '../../services/platform/kafka/topic-admin.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { serviceAcls } from '../support/kafka-acls.js';
import { type KafkaCluster, startKafkaCluster, withKafkaAdmin } from '../support/kafka-broker.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { startServiceProcess } from '../support/scorer-process.js';
import { freePort } from '../support/tether.js';

const USERS = {
  scorer: 'scorer-secret-0123',
  intruder: 'intruder-secret-0123',
  enforcer: 'enforcer-secret-0123',
  'enforcer-without-blocks': 'enforcer-secret-4567',
  admin: 'admin-secret-0123',
  'admin-without-connectors': 'admin-secret-4567',
};
const OPERATOR_TOKEN = 'acl-test-operator-token-0123456789';

describe('relayguard services on SASL/SCRAM-SHA-512 over TLS with least-privilege ACLs', () => {
  let kafka: KafkaCluster;
  let registry: SchemaRegistryDouble;
  let redis: RedisServer;
  before(async () => {
    [kafka, registry, redis] = await Promise.all([
      startKafkaCluster({ secure: { users: USERS } }),
      startSchemaRegistry(),
      startRedis(),
    ]);
    // The set-up is the super user's, on the PLAINTEXT listener: topics as `relayguard topics` makes them, ACLs.
    await withKafkaAdmin(kafka, async (admin) => {
      await ensureTopics(admin, plannedTopics({ partitions: 3, statePartitions: 1, replicationFactor: 1 }));
      await admin.createAcls({
        acl: [
          ...serviceAcls('scorer', 'scorer'),
          ...serviceAcls('enforcer', 'enforcer'),
          ...serviceAcls('enforcer', 'enforcer-without-blocks', { read: [Topics.tenantBlocks] }),
          ...serviceAcls('admin', 'admin'),
          ...serviceAcls('admin', 'admin-without-connectors', { read: [Topics.connectors] }),
        ],
      });
    });
  });
  after(() => Promise.all([kafka?.stop(), registry?.stop(), redis?.stop()]));

  const env = (username: string, password: string) => ({
    KAFKA_BROKERS: kafka.secure!.bootstrapServers.join(','),
    KAFKA_SSL: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD: password,
    NODE_EXTRA_CA_CERTS: kafka.secure!.caFile,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    SCHEMA_REGISTRY_URL: registry.url,
    REDIS_URL: redis.url,
    RELAYGUARD_PARTITIONS: '3',
    RELAYGUARD_TOKENS: `${OPERATOR_TOKEN}:operator`,
  });

  it('starts with its own credentials and ACLs', async () => {
    const scorer = await startServiceProcess(env('scorer', USERS.scorer));
    try {
      await scorer.ready;
    } finally {
      await scorer.process.stop(20_000);
    }
  });

  it('stops at startup on a wrong password, naming KAFKA_SASL_PASSWORD', async () => {
    const scorer = await startServiceProcess(env('scorer', 'not-the-password'));
    const started = Date.now();
    await assert.rejects(scorer.ready, (error: Error) => {
      assert.match(error.message, /exited \(3\)/, 'exit code 3: a setting to fix');
      assert.match(
        error.message,
        /relayguard: KAFKA_SASL_PASSWORD: the brokers refused the SASL scram-sha-512 login of user 'scorer'/,
      );
      assert.ok(!error.message.includes('not-the-password'), 'the password is not printed');
      return true;
    });
    assert.ok(Date.now() - started < 60_000, 'no retry loop');
  });

  it('stops at startup when its principal has no ACL, naming the refused topic', async () => {
    const scorer = await startServiceProcess(env('intruder', USERS.intruder));
    await assert.rejects(scorer.ready, (error: Error) => {
      assert.match(error.message, /exited \(3\)/);
      assert.match(
        error.message,
        /relayguard: KAFKA_SASL_USERNAME: the brokers' ACLs do not allow user 'intruder' on topic relayguard\.[a-z.-]+v1 \(TOPIC_AUTHORIZATION_FAILED\)/,
      );
      return true;
    });
  });

  it('starts the enforcer with its own ACLs', async () => {
    const enforcer = await startServiceProcess(env('enforcer', USERS.enforcer), 'enforcer');
    try {
      await enforcer.ready;
    } finally {
      await enforcer.process.stop(20_000);
    }
  });

  it('starts the admin service with its own ACLs, and its changes reach the topics it writes', async () => {
    const port = await freePort();
    const admin = await startServiceProcess(
      { ...env('admin', USERS.admin), RELAYGUARD_HTTP_PORT: String(port) },
      'admin',
    );
    try {
      await admin.ready;
      const response = await fetch(
        `http://127.0.0.1:${String(port)}/v1/tenants/acl-tenant/accepted-domains/acl-tenant.example`,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ matchSubdomains: true }),
        },
      );
      assert.ok(response.ok, `accepted domain written (accepted-domains, audit): ${response.status}`);
    } finally {
      await admin.process.stop(20_000);
    }
  });

  for (const [service, principal, topic] of [
    ['enforcer', 'enforcer-without-blocks', Topics.tenantBlocks],
    ['admin', 'admin-without-connectors', Topics.connectors],
  ] as const) {
    it(`stops the ${service} at startup when its principal lacks Read on ${topic}, naming it`, async (t) => {
      const proc = await startServiceProcess(env(principal, USERS[principal]), service);
      t.after(() => proc.process.stop(20_000));
      await assert.rejects(proc.ready, (error: Error) => {
        assert.match(error.message, /exited \(3\)/, 'exit code 3: a setting to fix');
        const line = /relayguard: KAFKA_SASL_USERNAME: .*/.exec(error.message)?.[0] ?? error.message;
        assert.match(line, new RegExp(`the brokers' ACLs do not allow user '${principal}' on topic`));
        assert.ok(line.includes(topic), `names ${topic}: ${line}`);
        t.diagnostic(line);
        return true;
      });
    });
  }
});
