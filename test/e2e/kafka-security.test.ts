// Kafka security as users deploy it: `relayguard scorer`, `enforcer` and `admin` as processes, connecting to the
// real broker's SASL/SCRAM-SHA-512 listener over TLS (KAFKA_SSL, KAFKA_SASL_*; the test CA through
// NODE_EXTRA_CA_CERTS), with ACLs enforced. Each service's principal holds only the ACLs deploy/RUNBOOK.md lists for
// it (test/support/kafka-acls.ts) and starts with them (the webhook deliverer then delivers a block and logs it); a
// wrong password, a principal without ACLs and one missing a single Read or Write it needs stop startup at once with
// one line naming the variable and the refused resource, not a retry loop or a failure at the first send.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topics } from '../../services/core/topics.js';
import { RegistryCodec } from '../../services/platform/codec/registry-codec.js';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { ensureTopics } from '../../services/platform/kafka/topic-admin.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { silentLogger } from '../../services/platform/logger.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { blockedEvent, blockRecords } from '../support/block-events.js';
import { type AclService, READER_GROUP_PREFIX, serviceAcls } from '../support/kafka-acls.js';
import { type KafkaCluster, startKafkaCluster, withKafkaAdmin } from '../support/kafka-broker.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { startServiceProcess } from '../support/scorer-process.js';
import { freePort, waitFor } from '../support/tether.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

const USERS = {
  scorer: 'scorer-secret-0123',
  intruder: 'intruder-secret-0123',
  enforcer: 'enforcer-secret-0123',
  'enforcer-without-blocks': 'enforcer-secret-4567',
  admin: 'admin-secret-0123',
  'admin-without-connectors': 'admin-secret-4567',
  'admin-without-audit-write': 'admin-secret-8901',
  'scorer-without-blocks-write': 'scorer-secret-4567',
  'scorer-without-dlq-write': 'scorer-secret-8901',
  'enforcer-without-submit': 'enforcer-secret-8901',
  webhooks: 'webhooks-secret-0123',
  'webhooks-without-deliveries': 'webhooks-secret-4567',
  'scorer-without-group': 'scorer-secret-2345',
  'enforcer-without-readers': 'enforcer-secret-2345',
};
const WEBHOOK_SECRET = 'acl-test-webhook-secret-0123456789';

/**
 * A principal missing one ACL of its service's: it must stop at startup naming the topic, before it consumes or
 * produces (a missing Write would otherwise surface only at its first send, or as a retry loop).
 */
const MISSING: ReadonlyArray<
  readonly [AclService, keyof typeof USERS, 'topic' | 'consumer group', string, 'Read' | 'Write']
> = [
  ['enforcer', 'enforcer-without-blocks', 'topic', Topics.tenantBlocks, 'Read'],
  ['admin', 'admin-without-connectors', 'topic', Topics.connectors, 'Read'],
  ['scorer', 'scorer-without-blocks-write', 'topic', Topics.tenantBlocks, 'Write'],
  ['scorer', 'scorer-without-dlq-write', 'topic', Topics.messageSubmittedDlq, 'Write'],
  ['enforcer', 'enforcer-without-submit', 'topic', Topics.messageSubmitted, 'Write'],
  ['admin', 'admin-without-audit-write', 'topic', Topics.audit, 'Write'],
  ['webhooks', 'webhooks-without-deliveries', 'topic', Topics.webhookDeliveries, 'Write'],
  ['scorer', 'scorer-without-group', 'consumer group', SCORER_GROUP, 'Read'],
  ['enforcer', 'enforcer-without-readers', 'consumer group', READER_GROUP_PREFIX, 'Read'],
];
const without = (resource: 'topic' | 'consumer group', name: string, operation: 'Read' | 'Write') =>
  resource === 'consumer group'
    ? { groups: [name] }
    : operation === 'Read'
      ? { read: [name] }
      : { write: [name] };
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
          ...serviceAcls('webhooks', 'webhooks'),
          ...MISSING.flatMap(([service, principal, resource, name, operation]) =>
            serviceAcls(service, principal, without(resource, name, operation)),
          ),
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
        /relayguard: KAFKA_SASL_USERNAME: the brokers' ACLs do not allow user 'intruder' on topic relayguard\.[a-z.-]+v1 \((Read|Write|Read and Write) not allowed: TOPIC_AUTHORIZATION_FAILED\)/,
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

  it('starts the webhook deliverer with its own ACLs, and it delivers a block and logs the delivery', async (t) => {
    const receiver = await startWebhookReceiver(WEBHOOK_SECRET);
    t.after(() => receiver.stop());
    const endpoints = [{ id: 'acl-ops', url: receiver.url, secret: WEBHOOK_SECRET }];
    const deliverer = await startServiceProcess(
      {
        ...env('webhooks', USERS.webhooks),
        RELAYGUARD_WEBHOOKS: JSON.stringify(endpoints),
        RELAYGUARD_WEBHOOK_ALLOW_PRIVATE: 'true',
      },
      'webhooks',
    );
    t.after(() => deliverer.process.stop(20_000));
    await deliverer.ready;
    // The scorer's part, as the super user on the PLAINTEXT listener.
    const config = loadConfig({
      KAFKA_BROKERS: kafka.bootstrapServers.join(','),
      SCHEMA_REGISTRY_URL: registry.url,
    });
    const log = new KafkaEventLog({ kafka: config.kafka!, logger: silentLogger });
    t.after(() => log.close());
    const codec = new RegistryCodec(config.schemaRegistry!);
    await log.publish(
      Topics.tenantBlocks,
      await blockRecords(codec, [blockedEvent('acl-tenant', 'acl-tenant#1')]),
    );

    await waitFor(() => receiver.received.length === 1, { description: 'the delivery', timeoutMs: 60_000 });
    assert.ok(receiver.received[0]!.verdict.valid, 'signed with the endpoint secret');
    // Its outcome written to the delivery log with the deliverer's own Write.
    await waitFor(
      () =>
        withKafkaAdmin(kafka, async (admin) =>
          (await admin.fetchTopicOffsets(Topics.webhookDeliveries)).some(({ high }) => Number(high) > 0),
        ),
      { description: 'the delivery log record', timeoutMs: 30_000 },
    );
  });

  for (const [service, principal, resource, name, operation] of MISSING) {
    it(`stops the ${service} at startup when its principal lacks ${operation} on ${resource} ${name}, naming it`, async (t) => {
      const proc = await startServiceProcess(env(principal, USERS[principal]), service);
      t.after(() => proc.process.stop(20_000));
      await assert.rejects(proc.ready, (error: Error) => {
        assert.match(error.message, /exited \(3\)/, 'exit code 3: a setting to fix');
        const line = /relayguard: KAFKA_SASL_USERNAME: .*/.exec(error.message)?.[0] ?? error.message;
        assert.match(line, new RegExp(`the brokers' ACLs do not allow user '${principal}' on ${resource}`));
        // A prefix ACL: the group named is the one a reader would have joined under it.
        assert.ok(
          line.includes(`${resource} ${name}`) && line.includes(`(${operation} not allowed`),
          `names ${resource} ${name} and the missing ${operation}: ${line}`,
        );
        assert.equal(line.match(/ (topic|consumer group) /g)?.length, 1, `nothing else: ${line}`);
        t.diagnostic(line);
        return true;
      });
    });
  }
});
