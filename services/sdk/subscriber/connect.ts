// A BlockSubscriber on Kafka and the Confluent Schema Registry, built from the connection settings a
// downstream service has (relayguard's own KAFKA_* and SCHEMA_REGISTRY_* values), on relayguard's own adapters.
import { RegistryCodec } from '../../platform/codec/registry-codec.js';
import type { KafkaConfig, SchemaRegistryConfig } from '../../platform/config.js';
import { KafkaEventLog } from '../../platform/kafka/kafka-event-log.js';
import { type Logger, silentLogger } from '../../platform/logger.js';
import { BlockSubscriber, type BlockSubscriberOptions } from './block-subscriber.js';

export interface KafkaBlockSubscriberOptions
  extends Omit<BlockSubscriberOptions, 'log' | 'codec' | 'ownsLog'> {
  readonly kafka: {
    /** host:port of the bootstrap brokers. */
    readonly brokers: readonly string[];
    readonly clientId?: string;
    readonly ssl?: boolean;
    readonly sasl?: KafkaConfig['sasl'];
    /** A member silent this long leaves its group (with a groupId). Default 30 s. */
    readonly sessionTimeoutMs?: number;
  };
  readonly schemaRegistry: SchemaRegistryConfig | { readonly url: string };
  /** pino logger for the Kafka client's warnings; silent by default. */
  readonly logger?: Logger;
}

/**
 * A subscriber that owns its Kafka client (close() disconnects it), not started yet: register handlers, then
 * start(). A broker outage is ridden out by the client's retries; when the client gives up on the consumer, the
 * subscriber subscribes again with its view kept.
 */
export function kafkaBlockSubscriber(options: KafkaBlockSubscriberOptions): BlockSubscriber {
  const { kafka, schemaRegistry, logger = silentLogger, ...subscriberOptions } = options;
  let subscriber: BlockSubscriber | undefined;
  const log = new KafkaEventLog({
    kafka: {
      brokers: kafka.brokers,
      clientId: kafka.clientId ?? 'relayguard-subscriber',
      ssl: kafka.ssl ?? false,
      sasl: kafka.sasl,
      // The subscriber never produces.
      idempotent: false,
      sessionTimeoutMs: kafka.sessionTimeoutMs ?? 30_000,
      // Blocks are few and must arrive at once.
      fetchMaxWaitMs: 500,
      directoryFetchMaxWaitMs: 500,
    },
    logger,
    maxWaitTimeMs: 500,
    onFatal: (error) => {
      logger.warn({ err: error }, 'block subscriber: the Kafka consumer stopped; subscribing again');
      void subscriber
        ?.reconnect()
        .catch((reason: unknown) =>
          logger.error({ err: reason }, 'block subscriber: subscribing again failed'),
        );
    },
  });
  subscriber = new BlockSubscriber({
    ...subscriberOptions,
    log,
    codec: new RegistryCodec({ auth: undefined, ...schemaRegistry }),
    ownsLog: true,
  });
  return subscriber;
}
