// The startup check of a service's Kafka permissions: one Metadata request (v8, KIP-430) asks the brokers for the
// operations the principal may perform on each topic it reads or writes, so a missing Read or Write stops the
// service before it starts, with the topic named, instead of a consumer crashing at its first fetch or a producer
// failing at its first send. No record is written and no group joined; the principal needs no DescribeAcls.
//
// kafkajs 2.2.4 speaks Metadata up to v6, which has no authorized operations: the request is sent on a connection
// of kafkajs's own cluster (its TLS, SASL and API-version negotiation), encoded with kafkajs's protocol encoder.
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import type { TopicAccess } from '../ports.js';

const require = createRequire(import.meta.url);

interface ProtocolEncoder {
  writeArray(values: readonly string[]): ProtocolEncoder;
  writeBoolean(value: boolean): ProtocolEncoder;
}
interface ProtocolDecoder {
  readInt16(): number;
  readInt32(): number;
  readString(): string | null;
  readBoolean(): boolean;
  readArray<T>(reader: (decoder: ProtocolDecoder) => T): T[];
}
const Encoder = require('kafkajs/src/protocol/encoder') as new () => ProtocolEncoder;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => ProtocolDecoder;

const METADATA_API_KEY = 3;
/** The first Metadata version that reports a topic's authorized operations; Kafka 4.0 still serves it (KIP-896). */
const METADATA_VERSION = 8;
const TOPIC_AUTHORIZATION_FAILED = 29;
/** AclOperation codes: bit n of topic_authorized_operations is operation n. */
export const TopicOperation = { READ: 3, WRITE: 4 } as const;

export interface RefusedTopic {
  readonly topic: string;
  readonly missing: 'Read' | 'Write' | 'Read and Write';
  /** The principal may not even describe the topic (TOPIC_AUTHORIZATION_FAILED): no Read or Write at all. */
  readonly undescribed: boolean;
}

interface TopicAnswer {
  readonly errorCode: number;
  readonly name: string;
  readonly operations: number;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  brokerPool: {
    seedBroker: {
      versions: Record<number, { maxVersion: number }>;
      connectionPool: { send(request: unknown): Promise<TopicAnswer[]> };
    };
  };
}

/** kafkajs's cluster factory (a private member of Kafka): the connection settings every client of it uses. */
function createCluster(kafka: Kafka): KafkajsCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  if (!symbol) throw new Error('kafkajs no longer has the cluster factory this check relies on');
  const factory = (kafka as unknown as Record<symbol, (options: object) => KafkajsCluster>)[symbol]!;
  return factory.call(kafka, { allowAutoTopicCreation: false });
}

/**
 * The topics whose Read or Write the brokers refuse the principal; an empty list when it may do all it needs.
 * Undefined when the brokers predate Metadata v8 (Kafka < 2.3): nothing can be checked up front.
 */
export async function refusedTopics(kafka: Kafka, access: TopicAccess): Promise<RefusedTopic[] | undefined> {
  const topics = [...new Set([...access.read, ...access.write])];
  if (topics.length === 0) return [];
  const cluster = createCluster(kafka);
  try {
    await cluster.connect();
    const broker = cluster.brokerPool.seedBroker;
    if ((broker.versions[METADATA_API_KEY]?.maxVersion ?? 0) < METADATA_VERSION) return undefined;
    const answers = await broker.connectionPool.send(metadataRequest(topics));
    return answers.flatMap((answer) => refusal(answer, access) ?? []);
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}

function refusal(answer: TopicAnswer, access: TopicAccess): RefusedTopic | undefined {
  const topic = answer.name;
  const undescribed = answer.errorCode === TOPIC_AUTHORIZATION_FAILED;
  // Another error (a topic not created yet) is for the subscription or the send to report as it does today.
  if (answer.errorCode !== 0 && !undescribed) return undefined;
  const allowed = (operation: number) => !undescribed && (answer.operations & (1 << operation)) !== 0;
  const noRead = access.read.includes(topic) && !allowed(TopicOperation.READ);
  const noWrite = access.write.includes(topic) && !allowed(TopicOperation.WRITE);
  if (noRead && noWrite) return { topic, missing: 'Read and Write', undescribed };
  if (noRead) return { topic, missing: 'Read', undescribed };
  if (noWrite) return { topic, missing: 'Write', undescribed };
  return undefined;
}

/** Metadata v8: the topics, no auto-creation, the topics' authorized operations (not the cluster's). */
function metadataRequest(topics: readonly string[]) {
  return {
    request: {
      apiKey: METADATA_API_KEY,
      apiVersion: METADATA_VERSION,
      apiName: 'Metadata',
      encode: async () =>
        new Encoder().writeArray(topics).writeBoolean(false).writeBoolean(false).writeBoolean(true),
    },
    response: {
      decode: async (payload: Buffer): Promise<TopicAnswer[]> => {
        const decoder = new Decoder(payload);
        decoder.readInt32(); // throttle_time_ms
        decoder.readArray((d) => [d.readInt32(), d.readString(), d.readInt32(), d.readString()]); // brokers
        decoder.readString(); // cluster_id
        decoder.readInt32(); // controller_id
        return decoder.readArray((d) => {
          const errorCode = d.readInt16();
          const name = d.readString() ?? '';
          d.readBoolean(); // is_internal
          // error_code partition_index leader_id leader_epoch [replica_nodes] [isr_nodes] [offline_replicas]
          d.readArray((p) => [
            p.readInt16(),
            p.readInt32(),
            p.readInt32(),
            p.readInt32(),
            p.readArray((n) => n.readInt32()),
            p.readArray((n) => n.readInt32()),
            p.readArray((n) => n.readInt32()),
          ]);
          return { errorCode, name, operations: d.readInt32() };
        });
      },
      // Per-topic errors are the answer here, not a failure of the request.
      parse: async (answers: TopicAnswer[]) => answers,
    },
  };
}
