// What the webhook tests on the production components share: the stack (the real Kafka broker, the Schema Registry
// double, Redis), a receiver with a fresh secret, and the tenant-blocks publisher a scorer or admin would be.
import { randomUUID } from 'node:crypto';
import type { TenantBlockEvent } from '../../services/core/contracts.generated.js';
import { Topics } from '../../services/core/topics.js';
import { RegistryCodec } from '../../services/platform/codec/registry-codec.js';
import { loadConfig } from '../../services/platform/config.js';
import { KafkaEventLog } from '../../services/platform/kafka/kafka-event-log.js';
import { silentLogger } from '../../services/platform/logger.js';
import { blockRecords } from './block-events.js';
import { startProductionStack } from './production-stack.js';
import { startWebhookReceiver } from './webhook-receiver.js';

/** Everything is stopped by `defer` (a cleanupStack), last started first. */
export async function startWebhookStack(defer: (fn: () => unknown) => void) {
  const stack = await startProductionStack();
  defer(() => stack.stop());
  const secret = `whsec-${randomUUID()}`;
  const receiver = await startWebhookReceiver(secret);
  defer(() => receiver.stop());
  const config = loadConfig(stack.env);
  const log = new KafkaEventLog({ kafka: config.kafka!, logger: silentLogger });
  defer(() => log.close());
  const codec = new RegistryCodec(config.schemaRegistry!);
  return {
    stack,
    secret,
    receiver,
    log,
    publishBlocks: async (events: readonly TenantBlockEvent[]) =>
      log.publish(Topics.tenantBlocks, await blockRecords(codec, events)),
  };
}
