// The Kafka log's producer: acks=all, idempotent unless configured off, one request in flight so a tenant's
// events keep their order, and a guard against a kafkajs send that resolves without having sent everything.
import { type Message, Partitioners, type Producer, type RecordMetadata } from 'kafkajs';
import { RelayguardError } from '../../core/errors.js';
import type { OutgoingRecord } from '../ports.js';
import { accessError } from './access-errors.js';
import type { KafkaClient } from './kafka-client.js';

/** Sends of the records kafkajs acknowledged without sending, before the publish fails (retryable). */
const MAX_SKIPPED_RESENDS = 5;

export class KafkaProducer {
  readonly #client: KafkaClient;
  #producer: Promise<Producer> | undefined;
  /** Where the partitioner placed each message being sent (see #skipped). */
  readonly #partitionOf = new WeakMap<Message, number>();

  constructor(client: KafkaClient) {
    this.#client = client;
  }

  /** Resolves once the brokers acknowledged every record (acks=all); throws LOG_UNAVAILABLE or an access error. */
  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      const producer = await this.#connected();
      let messages: Message[] = records.map((record) => ({
        key: record.key,
        value: record.value,
        headers: record.headers ? { ...record.headers } : undefined,
      }));
      for (let attempt = 1; ; attempt++) {
        const written = await producer.send({ topic, acks: -1, messages });
        messages = this.#skipped(messages, written);
        if (messages.length === 0) return;
        if (attempt === MAX_SKIPPED_RESENDS)
          throw new Error(`${messages.length} records were still not sent after ${attempt} attempts`);
        this.#client.logger.warn(
          { topic, records: messages.length, attempt },
          'kafkajs acknowledged a send without sending to a partition whose leader moved; sending those records again',
        );
      }
    } catch (error) {
      const refused = accessError(error, this.#client.config, { topics: [topic] });
      if (refused) throw refused;
      throw new RelayguardError(
        'LOG_UNAVAILABLE',
        `kafka: publishing ${records.length} records to ${topic} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  /**
   * The messages of a send whose partition is not among those the brokers acknowledged. kafkajs 2.2.4 keeps the
   * replies of the brokers that answered across its retries: when a partition's leader moves to one of them, its
   * records are never sent, yet the send resolves (tulios/kafkajs#1303, #1798). The partitioner tells where each
   * message was meant to go.
   */
  #skipped(messages: readonly Message[], written: readonly RecordMetadata[]): Message[] {
    const acknowledged = new Set(written.map((metadata) => metadata.partition));
    return messages.filter((message) => {
      const partition = this.#partitionOf.get(message);
      if (partition === undefined) throw new Error('kafkajs sent a message its partitioner never saw');
      return !acknowledged.has(partition);
    });
  }

  #connected(): Promise<Producer> {
    this.#producer ??= (async () => {
      // Without idempotence (KIP-98) a retry after a lost acknowledgement writes the record again at a new
      // offset, which only the scorer's event fingerprints recognize. It is off only against brokers whose
      // metadata names no controller (librdkafka's mock cluster, see README).
      const producer = this.#client.kafka.producer({
        idempotent: this.#client.config.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Java-compatible murmur2: the same key lands in the same partition whichever client produced it.
        createPartitioner: () => {
          const partitioner = Partitioners.DefaultPartitioner();
          return (args) => {
            const partition = partitioner(args);
            this.#partitionOf.set(args.message, partition);
            return partition;
          };
        },
      });
      await producer.connect();
      return producer;
    })();
    this.#producer.catch(() => {
      this.#producer = undefined;
    });
    return this.#producer;
  }
}
