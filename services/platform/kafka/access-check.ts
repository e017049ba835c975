// The startup check of a service's Kafka permissions (KIP-430's authorized operations): one Metadata request (v8)
// asks the brokers which operations the principal may perform on each topic it reads or writes, and one
// DescribeGroups request (v3) per consumer group which it may perform on the group, so a missing Read or Write
// stops the service before it starts, naming the topic or group, instead of a consumer crashing at its first fetch
// or join, or a producer failing at its first send. Nothing is written and no group joined (describing a group
// that does not exist leaves none behind); the principal needs no DescribeAcls.
//
// kafkajs 2.2.4 speaks Metadata up to v6 and DescribeGroups up to v2, which report no authorized operations: the
// requests go over connections of kafkajs's own cluster (its TLS, SASL and API-version negotiation), encoded with
// kafkajs's protocol encoder.
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import type { LogAccess } from '../ports.js';
import { retryingRetriable } from './retriable.js';

const require = createRequire(import.meta.url);

interface ProtocolEncoder {
  writeArray(values: readonly string[]): ProtocolEncoder;
  writeBoolean(value: boolean): ProtocolEncoder;
}
interface ProtocolDecoder {
  readInt16(): number;
  readInt32(): number;
  readString(): string | null;
  readBytes(): Buffer | null;
  readBoolean(): boolean;
  readArray<T>(reader: (decoder: ProtocolDecoder) => T): T[];
}
const Encoder = require('kafkajs/src/protocol/encoder') as new () => ProtocolEncoder;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => ProtocolDecoder;

const API = { METADATA: 3, DESCRIBE_GROUPS: 15 } as const;
/** The first versions that report authorized operations; Kafka 4.0 still serves both (KIP-896). */
const VERSION = { [API.METADATA]: 8, [API.DESCRIBE_GROUPS]: 3 } as const;
const AUTHORIZATION_FAILED = { topic: 29, group: 30 } as const;
/** AclOperation codes: bit n of authorized_operations is operation n. */
const Operation = { READ: 3, WRITE: 4 } as const;
const OPERATIONS_OMITTED = -2_147_483_648;

export interface Refusal {
  readonly resource: 'topic' | 'consumer group';
  readonly name: string;
  readonly missing: 'Read' | 'Write' | 'Read and Write';
  /** The principal may not even describe it (*_AUTHORIZATION_FAILED): no ACL on it at all. */
  readonly undescribed: boolean;
}

interface Answer {
  readonly errorCode: number;
  readonly name: string;
  readonly operations: number;
}

interface KafkajsBroker {
  versions: Record<number, { maxVersion: number }>;
  connectionPool: { send(request: unknown): Promise<Answer[]> };
  findGroupCoordinator(options: { groupId: string }): Promise<{ coordinator: { nodeId: number } }>;
}
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  findBroker(options: { nodeId: number }): Promise<KafkajsBroker>;
  brokerPool: { seedBroker: KafkajsBroker };
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

const speaks = (broker: KafkajsBroker, api: keyof typeof VERSION) =>
  (broker.versions[api]?.maxVersion ?? 0) >= VERSION[api];

/**
 * What the brokers refuse the principal of `access`; an empty list when it may do all it needs. Undefined when
 * the brokers predate Metadata v8 (Kafka < 2.3): nothing can be checked up front.
 */
export async function refusedAccess(
  kafka: Kafka,
  access: LogAccess,
  unchecked: (group: string, error: unknown) => void,
): Promise<Refusal[] | undefined> {
  const cluster = createCluster(kafka);
  try {
    await cluster.connect();
    const seed = cluster.brokerPool.seedBroker;
    if (!speaks(seed, API.METADATA)) return undefined;
    const topics = [...new Set([...access.read, ...access.write])];
    const refused = topics.length
      ? (await seed.connectionPool.send(metadataRequest(topics))).flatMap(
          (answer) =>
            refusal('topic', answer, access.read.includes(answer.name), access.write.includes(answer.name)) ??
            [],
        )
      : [];
    if (access.groups.length > 0) await cluster.refreshMetadata();
    for (const group of access.groups) {
      // A coordinator that cannot be reached now (a broker down) is the consumer's to wait for, as before.
      const answer = await describeGroup(cluster, group).catch((error: unknown) => {
        unchecked(group, error);
        return undefined;
      });
      const refusedGroup = answer && refusal('consumer group', answer, true, false);
      if (refusedGroup) refused.push(refusedGroup);
    }
    return refused;
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}

/** The group's answer; undefined when its coordinator cannot say (DescribeGroups before v3). */
async function describeGroup(cluster: KafkajsCluster, group: string): Promise<Answer | undefined> {
  let nodeId: number;
  try {
    // The seed broker's own FindCoordinator (the cluster's hides the error behind "Failed to find group
    // coordinator"), retried while a fresh cluster creates its offsets topic (COORDINATOR_NOT_AVAILABLE).
    const seed = cluster.brokerPool.seedBroker;
    ({ nodeId } = (await retryingRetriable(() => seed.findGroupCoordinator({ groupId: group }))).coordinator);
  } catch (error) {
    // FindCoordinator needs Describe on the group: refused, the principal has no ACL on it at all.
    if (hasType(error, 'GROUP_AUTHORIZATION_FAILED'))
      return { errorCode: AUTHORIZATION_FAILED.group, name: group, operations: 0 };
    throw error;
  }
  const coordinator = await cluster.findBroker({ nodeId });
  if (!speaks(coordinator, API.DESCRIBE_GROUPS)) return undefined;
  return (await coordinator.connectionPool.send(describeGroupsRequest(group)))[0];
}

function hasType(error: unknown, type: string): boolean {
  for (let cause = error, depth = 0; cause && depth < 10; depth++) {
    if ((cause as { type?: string }).type === type) return true;
    cause = (cause as { cause?: unknown }).cause ?? (cause as { originalError?: unknown }).originalError;
  }
  return false;
}

function refusal(
  resource: Refusal['resource'],
  answer: Answer,
  reads: boolean,
  writes: boolean,
): Refusal | undefined {
  const undescribed = answer.errorCode === AUTHORIZATION_FAILED[resource === 'topic' ? 'topic' : 'group'];
  // Another error (a topic not created yet) is for the subscription or the send to report as it does today.
  if (answer.errorCode !== 0 && !undescribed) return undefined;
  // INT32_MIN: the broker did not compute them (a broker that only parses the field); nothing to tell.
  if (!undescribed && answer.operations === OPERATIONS_OMITTED) return undefined;
  const allowed = (operation: number) => !undescribed && (answer.operations & (1 << operation)) !== 0;
  const noRead = reads && !allowed(Operation.READ);
  const noWrite = writes && !allowed(Operation.WRITE);
  const missing = noRead && noWrite ? 'Read and Write' : noRead ? 'Read' : noWrite ? 'Write' : undefined;
  return missing && { resource, name: answer.name, missing, undescribed };
}

/** Metadata v8: the topics, no auto-creation, the topics' authorized operations (not the cluster's). */
function metadataRequest(topics: readonly string[]) {
  return protocolRequest(
    API.METADATA,
    () => new Encoder().writeArray(topics).writeBoolean(false).writeBoolean(false).writeBoolean(true),
    (d) => {
      d.readInt32(); // throttle_time_ms
      d.readArray((b) => [b.readInt32(), b.readString(), b.readInt32(), b.readString()]); // brokers
      d.readString(); // cluster_id
      d.readInt32(); // controller_id
      return d.readArray((t) => {
        const errorCode = t.readInt16();
        const name = t.readString() ?? '';
        t.readBoolean(); // is_internal
        // error_code partition_index leader_id leader_epoch [replica_nodes] [isr_nodes] [offline_replicas]
        t.readArray((p) => [
          p.readInt16(),
          p.readInt32(),
          p.readInt32(),
          p.readInt32(),
          p.readArray((n) => n.readInt32()),
          p.readArray((n) => n.readInt32()),
          p.readArray((n) => n.readInt32()),
        ]);
        return { errorCode, name, operations: t.readInt32() };
      });
    },
  );
}

/** DescribeGroups v3: the group, with its authorized operations. */
function describeGroupsRequest(group: string) {
  return protocolRequest(
    API.DESCRIBE_GROUPS,
    () => new Encoder().writeArray([group]).writeBoolean(true),
    (d) => {
      d.readInt32(); // throttle_time_ms
      return d.readArray((g) => {
        const errorCode = g.readInt16();
        const name = g.readString() ?? '';
        g.readString(); // group_state
        g.readString(); // protocol_type
        g.readString(); // protocol_data
        // member_id client_id client_host member_metadata member_assignment
        g.readArray((m) => [m.readString(), m.readString(), m.readString(), m.readBytes(), m.readBytes()]);
        return { errorCode, name, operations: g.readInt32() };
      });
    },
  );
}

function protocolRequest(
  apiKey: keyof typeof VERSION,
  encode: () => ProtocolEncoder,
  decode: (decoder: ProtocolDecoder) => Answer[],
) {
  return {
    request: { apiKey, apiVersion: VERSION[apiKey], apiName: 'AccessCheck', encode: async () => encode() },
    response: {
      decode: async (payload: Buffer) => decode(new Decoder(payload)),
      // Per-resource errors are the answer here, not a failure of the request.
      parse: async (answers: Answer[]) => answers,
    },
  };
}
