// Runs the tenant notifier on Kafka and the Schema Registry. Notifications are printed (a stand-in for a mail
// API). From the repository: node --conditions=relayguard-source --import tsx examples/tenant-notifier/main.ts
import { readFileSync } from 'node:fs';
import { kafkaBlockSubscriber } from 'relayguard/subscriber';
import { startTenantNotifier } from './notifier.js';

const brokers = process.env.KAFKA_BROKERS;
const registry = process.env.SCHEMA_REGISTRY_URL;
const contactsFile = process.env.NOTIFIER_CONTACTS;
if (!brokers || !registry || !contactsFile) {
  console.error(
    'set KAFKA_BROKERS, SCHEMA_REGISTRY_URL and NOTIFIER_CONTACTS (a JSON file: {"<tenantId>": "<address>"})',
  );
  process.exit(3);
}
const contacts = JSON.parse(readFileSync(contactsFile, 'utf8')) as Record<string, string>;

// Group-less: every instance reads the whole topic. Run one instance, or give them a groupId to share the work.
const subscriber = kafkaBlockSubscriber({
  kafka: { brokers: brokers.split(',') },
  schemaRegistry: { url: registry },
});
startTenantNotifier({
  subscriber,
  contactOf: (tenantId) => contacts[tenantId],
  send: async (notification) => {
    console.log(JSON.stringify(notification));
  },
});
await subscriber.start();
await subscriber.ready;
console.error('tenant notifier: caught up, following relayguard.tenant-blocks.v1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void subscriber.close());
