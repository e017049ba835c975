// Issue 23, "a replica starts from a snapshot and catches up from its offset", on the real Apache Kafka broker: the
// enforcer index's snapshot records the state topics' offsets, and a directory feed started from it is handed only
// the records after them (the group-less reader seeks each partition there), yet answers as an index that read
// every record (test/support/snapshot-scenario.ts; the memory log runs it in test/unit/app/index-snapshot.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Topics } from '../../services/core/topics.js';
import { type KafkaBrokers, sharedKafka, testKafkaVersion } from '../support/kafka-broker.js';
import { kafkaEnv, kafkaLogOn } from '../support/production-stack.js';
import { snapshotCatchUp } from '../support/snapshot-scenario.js';

let kafka: KafkaBrokers;
let directory: string;
before(async () => {
  kafka = await sharedKafka();
  directory = await mkdtemp(join(tmpdir(), 'relayguard-snapshot-kafka-'));
});
after(() => rm(directory, { recursive: true, force: true }));

describe(`the enforcer index snapshot on Apache Kafka ${testKafkaVersion()}`, () => {
  it('lets a feed read on from the offsets it reflects and answer as one that read every record', async () => {
    const { acceptedDomains, connectors, tenantBlocks, tenantPolicies } = Topics;
    for (const topic of [acceptedDomains, connectors, tenantBlocks, tenantPolicies])
      await kafka.createTopic(topic, 3);
    const log = kafkaLogOn(kafkaEnv(kafka.bootstrapServers));
    try {
      await snapshotCatchUp(log, directory);
    } finally {
      await log.close();
    }
  });
});
