// Kafka security as users deploy it: `relayguard scorer` as a process, connecting to the real broker's
// SASL/SCRAM-SHA-512 listener over TLS (KAFKA_SSL, KAFKA_SASL_*; the test CA through NODE_EXTRA_CA_CERTS), with
// ACLs enforced. The scorer's principal holds only its topics and groups; a wrong password and a principal without
// ACLs stop startup at once with one line naming the variable and the refused resource, not a retry loop.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs, { type AclEntry } from 'kafkajs';
import { Topics } from '../../services/core/topics.js';
import { ensureTopics } from '../../services/platform/kafka/topic-admin.js';
import { plannedTopics } from '../../services/platform/kafka/topic-plan.js';
import { SCORER_GROUP } from '../../services/scorer/scorer.js';
import { type KafkaCluster, startKafkaCluster, withKafkaAdmin } from '../support/kafka-broker.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { type SchemaRegistryDouble, startSchemaRegistry } from '../support/schema-registry.js';
import { startServiceProcess } from '../support/scorer-process.js';

const USERS = { scorer: 'scorer-secret-0123', intruder: 'intruder-secret-0123' };

/** What the scorer reads and writes, and nothing else (its ACLs in deploy/RUNBOOK.md). */
function scorerAcls(): AclEntry[] {
  const { TOPIC, GROUP } = kafkajs.AclResourceTypes;
  const { LITERAL, PREFIXED } = kafkajs.ResourcePatternTypes;
  const { READ, WRITE } = kafkajs.AclOperationTypes;
  const allow = (resourceType: number, resourceName: string, operation: number, prefixed = false) => ({
    resourceType,
    resourceName,
    resourcePatternType: prefixed ? PREFIXED : LITERAL,
    principal: 'User:scorer',
    host: '*',
    operation,
    permissionType: kafkajs.AclPermissionTypes.ALLOW,
  });
  const reads = [
    Topics.messageSubmitted,
    Topics.tenantBlocks,
    Topics.acceptedDomains,
    Topics.connectors,
    Topics.tenantPolicies,
  ];
  return [
    ...reads.map((topic) => allow(TOPIC, topic, READ)),
    ...[Topics.tenantBlocks, Topics.messageSubmittedDlq].map((topic) => allow(TOPIC, topic, WRITE)),
    allow(GROUP, SCORER_GROUP, READ),
    // The directory's readers join a group of their own (KafkaEventLog.subscribe without a group).
    allow(GROUP, 'relayguard-reader-', READ, true),
  ] as AclEntry[];
}

describe('relayguard scorer on SASL/SCRAM-SHA-512 over TLS with ACLs', () => {
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
      await admin.createAcls({ acl: scorerAcls() });
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
});
