// The EventLog port on Kafka (kafkajs): a client (kafka-client.ts), a producer (kafka-producer.ts) and one
// consumer per subscription (kafka-subscription.ts, its offsets in offsets.ts, write-behind in ../write-behind.ts).
import type { KafkaConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ConsumeOptions, EventLog, LogAccess, OutgoingRecord, Subscription } from '../ports.js';
import { refusedAccess } from './access-check.js';
import { accessError, refusedAccessError } from './access-errors.js';
import { KafkaClient } from './kafka-client.js';
import { KafkaProducer } from './kafka-producer.js';
import { KafkaSubscription, readerGroupId } from './kafka-subscription.js';

const POLL_MS = 20;

export interface KafkaEventLogOptions {
  readonly kafka: KafkaConfig;
  readonly logger: Logger;
  /**
   * A consumer crashed and kafkajs will not restart it (a non-retriable error): the process must end so that
   * its supervisor restarts it. Without this the subscription would silently stop consuming.
   */
  readonly onFatal?: (error: Error) => void;
  /**
   * How long the broker may hold a fetch that has nothing to return. Records that arrive end the wait at once,
   * so this bounds only idle polling and how long stop() waits for the fetch in flight.
   */
  readonly maxWaitTimeMs?: number;
}

export class KafkaEventLog implements EventLog {
  readonly #client: KafkaClient;
  readonly #producer: KafkaProducer;
  readonly #options: KafkaEventLogOptions;
  readonly #subscriptions = new Set<KafkaSubscription>();

  constructor(options: KafkaEventLogOptions) {
    this.#options = options;
    this.#client = new KafkaClient(options.kafka, options.logger);
    this.#producer = new KafkaProducer(this.#client);
  }

  publish(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    return this.#producer.send(topic, records);
  }

  async subscribe(options: ConsumeOptions): Promise<Subscription> {
    const subscription = await KafkaSubscription.start(this.#client, options, {
      maxWaitTimeMs: this.#options.maxWaitTimeMs ?? 1_000,
      onFatal: this.#options.onFatal,
      onStopped: (stopped) => this.#subscriptions.delete(stopped),
    });
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * Resolves when every subscription of this client has handled every record that its topics held, including
   * records published by handlers meanwhile.
   */
  async settled(): Promise<void> {
    for (;;) {
      const subscriptions = [...this.#subscriptions];
      const topics = [...new Set(subscriptions.flatMap((subscription) => subscription.progress.topics))];
      const ends = await this.#client.ends(topics);
      for (const subscription of subscriptions) {
        const { progress } = subscription;
        const own = new Map(
          [...ends].filter(([key]) => progress.topics.some((t) => key.startsWith(`${t}:`))),
        );
        while (this.#subscriptions.has(subscription) && !(await progress.reached(own))) {
          subscription.commitNow();
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      }
      const again = await this.#client.ends(topics);
      if ([...again].every(([key, end]) => ends.get(key) === end)) return;
    }
  }

  /**
   * The topics' Read and Write and the groups' Read, asked of the brokers before anything starts; with the group a
   * group-less subscription joins (its name as subscribe would make it). The idempotent producer needs nothing
   * more: since Kafka 3.0 (KIP-679) Write on a topic allows its InitProducerId.
   */
  async verifyAccess(access: LogAccess): Promise<void> {
    const { config, kafka, logger } = this.#client;
    const groups = [...access.groups, ...(access.read.length > 0 ? [readerGroupId(config.clientId)] : [])];
    const refused = await refusedAccess(kafka, { ...access, groups }, (group, error) =>
      logger.warn({ err: error, group }, 'kafka: could not check the group ACLs at startup; starting anyway'),
    ).catch((error: unknown) => {
      // Unreachable brokers are reported as the first subscription would report them.
      throw accessError(error, config, { topics: [...access.read, ...access.write] }) ?? error;
    });
    if (refused === undefined) {
      logger.warn('kafka: the brokers predate Metadata v8 (Kafka 2.3); ACLs are not checked at startup');
    } else if (refused.length > 0) {
      throw refusedAccessError(config, refused);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.stop()));
    await Promise.all([this.#producer.close(), this.#client.close()]);
  }
}
