// The kafkajs client with relayguard's connection settings (TLS, SASL, logging through pino), and the offsets
// reads every subscription starts from: where each partition begins and ends, what a group committed.
import { type Admin, Kafka, type logCreator, logLevel, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { partitionKey } from '../write-behind.js';
import { accessError, type KafkaResources } from './access-errors.js';
import { dropKafkajsTimerWarnings } from './kafkajs-timer-warning.js';
import type { Offsets } from './offsets.js';
import { retryingRetriable } from './retriable.js';

/** kafkajs logs through pino, at the level of the relayguard logger. */
function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      const context = { component: 'kafkajs', namespace, ...fields };
      if (level === logLevel.ERROR) logger.error(context, message);
      else if (level === logLevel.WARN) logger.warn(context, message);
      else if (level === logLevel.INFO) logger.info(context, message);
      else logger.debug(context, message);
    };
}

/** kafkajs's level for a pino level; trace and debug (and anything else) are kafkajs's DEBUG. */
const KAFKA_LOG_LEVELS: Readonly<Record<string, logLevel>> = {
  silent: logLevel.NOTHING,
  fatal: logLevel.ERROR,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
};

/** A kafkajs client with relayguard's connection settings (TLS, SASL, logging); the topics command uses it too. */
export function createKafka(config: KafkaConfig, logger: Logger): Kafka {
  dropKafkajsTimerWarnings();
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: config.ssl,
    sasl: config.sasl ? ({ ...config.sasl } as SASLOptions) : undefined,
    logLevel: KAFKA_LOG_LEVELS[logger.level] ?? logLevel.DEBUG,
    logCreator: kafkaLogCreator(logger),
  });
}

export interface PartitionBounds {
  /** The log start: the first offset retention kept. */
  readonly low: bigint;
  /** The log end: the next offset to be written. */
  readonly high: bigint;
}

/** One kafkajs client and the admin connection its offsets reads share. */
export class KafkaClient {
  readonly kafka: Kafka;
  readonly config: KafkaConfig;
  readonly logger: Logger;
  #admin: Promise<Admin> | undefined;

  constructor(config: KafkaConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
    this.kafka = createKafka(config, logger);
  }

  /** The log start and end of every partition of the topics. */
  async bounds(topics: readonly string[]): Promise<Map<string, PartitionBounds>> {
    const bounds = new Map<string, PartitionBounds>();
    for (const topic of topics) {
      const offsets = await this.#readOffsets({ topics: [topic] }, (admin) => admin.fetchTopicOffsets(topic));
      for (const { partition, low, high } of offsets) {
        bounds.set(partitionKey(topic, partition), { low: BigInt(low), high: BigInt(high) });
      }
    }
    return bounds;
  }

  /** The log end of every partition of the topics. */
  async ends(topics: readonly string[]): Promise<Offsets> {
    return new Map([...(await this.bounds(topics))].map(([key, { high }]) => [key, high]));
  }

  /** The offsets the group committed on the topics' partitions (none: absent). */
  async committed(groupId: string, topics: readonly string[]): Promise<Offsets> {
    const committed: Offsets = new Map();
    const offsets = await this.#readOffsets({ topics, group: groupId }, (admin) =>
      admin.fetchOffsets({ groupId, topics: [...topics] }),
    );
    for (const { topic, partitions } of offsets) {
      for (const { partition, offset } of partitions) {
        if (BigInt(offset) >= 0n) committed.set(partitionKey(topic, partition), BigInt(offset));
      }
    }
    return committed;
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  #connectedAdmin(): Promise<Admin> {
    this.#admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    this.#admin.catch(() => {
      this.#admin = undefined;
    });
    return this.#admin;
  }

  /** An offsets read, retried on a live cluster's passing answers (retriable.ts) with fresh metadata. */
  #readOffsets<T>(resources: KafkaResources, read: (admin: Admin) => Promise<T>): Promise<T> {
    return retryingRetriable(
      async () => read(await this.#connectedAdmin()),
      async (error, attempt) => {
        this.logger.debug({ err: error, attempt }, 'kafka: offsets read failed, retrying');
        const admin = await this.#connectedAdmin();
        await admin.fetchTopicMetadata({ topics: [...(resources.topics ?? [])] }).catch(() => undefined);
      },
    ).catch((error: unknown) => {
      // The first call of a service at startup: a refused login or ACL stops it with the setting to fix.
      throw accessError(error, this.config, resources) ?? error;
    });
  }
}
