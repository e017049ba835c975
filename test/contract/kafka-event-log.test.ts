// The EventLog contract against the Kafka adapter on librdkafka's mock cluster (a real Kafka-protocol broker).
// Topics are created through the mock's launcher: the mock implements no CreateTopics (see DESIGN.md).
import { after, before } from 'node:test';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../../services/platform/logger.js';
import { type KafkaMock, startKafkaMock } from '../support/kafka-mock.js';
import { mockClusterEnv } from '../support/production-stack.js';
import { eventLogContract } from './event-log.contract.js';

let mock: KafkaMock;
before(async () => {
  mock = await startKafkaMock({ brokers: 3 });
});
after(() => mock.stop());

eventLogContract('kafka (librdkafka mock cluster)', async () => {
  const connect = () =>
    new KafkaEventLog({
      kafka: loadConfig({
        ...mockClusterEnv(mock.bootstrapServers),
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
      }).kafka!,
      logger: silentLogger,
      maxWaitTimeMs: 100,
    });
  const log = connect();
  const others: KafkaEventLog[] = [];
  return {
    log,
    createTopic: (name, partitions) => mock.createTopic(name, partitions),
    connectAnother: async () => {
      const other = connect();
      others.push(other);
      return other;
    },
    cleanup: async () => {
      await Promise.all(others.map((other) => other.close()));
      await log.close();
    },
  };
});
