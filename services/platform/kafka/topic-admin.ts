// The topics relayguard needs, and their creation: partitions (the message-submitted topic and its DLQ scale
// with the scorers; the state topics are small), replication, `cleanup.policy=compact` for the state topics
// (the latest record per key is the current value, kept forever; tenant-blocks keeps every record for the block
// history's period before compaction). Existing topics are reported, never altered:
// growing a keyed topic moves keys to other partitions, which breaks per-tenant order. Every topic, created now or
// not, is read back from the brokers and compared with the plan (`relayguard topics` exits 4 on a difference).
import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import { BLOCK_HISTORY_MS, CompactedTopics, Topics } from '../../core/topics.js';
import { retryingRetriable } from './retriable.js';

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface TopicPlanOptions {
  /** Partitions of the message-submitted topic and its DLQ (RELAYGUARD_PARTITIONS). */
  readonly partitions: number;
  /** Partitions of the compacted state topics and the audit topic. */
  readonly statePartitions: number;
  readonly replicationFactor: number;
}

const CLEANUP_POLICY = 'cleanup.policy';
const COMPACTION_LAG = 'min.compaction.lag.ms';
const MIN_INSYNC_REPLICAS = 'min.insync.replicas';

/** Topics whose partition count follows the scorer's scale. */
const SCALED_TOPICS: readonly string[] = [Topics.messageSubmitted, Topics.messageSubmittedDlq];

export function plannedTopics(options: TopicPlanOptions): TopicSpec[] {
  return Object.values(Topics).map((topic) => {
    const configs: Record<string, string> = {
      // With acks=all a write needs this many in-sync replicas: one broker may fail without losing an
      // acknowledged event (when there are 3 replicas).
      [MIN_INSYNC_REPLICAS]: String(options.replicationFactor >= 3 ? 2 : 1),
    };
    if (CompactedTopics.includes(topic)) configs[CLEANUP_POLICY] = 'compact';
    if (topic === Topics.tenantBlocks) configs[COMPACTION_LAG] = String(BLOCK_HISTORY_MS);
    // The scorer bounds event time by the record's timestamp: the broker's clock, never the relay's.
    if (topic === Topics.messageSubmitted) configs['message.timestamp.type'] = 'LogAppendTime';
    return {
      topic,
      partitions: SCALED_TOPICS.includes(topic) ? options.partitions : options.statePartitions,
      replicationFactor: options.replicationFactor,
      configs,
    };
  });
}

export interface TopicReport {
  readonly topic: string;
  /** created now; exists as planned; differs from the plan (see problems); failed to create. */
  readonly status: 'created' | 'exists' | 'differs' | 'failed';
  readonly partitions: number | undefined;
  readonly replicationFactor: number | undefined;
  /** As the brokers report it (DescribeConfigs); undefined when they would not say (librdkafka's mock cluster). */
  readonly cleanupPolicy: string | undefined;
  readonly minInsyncReplicas: string | undefined;
  readonly problems: readonly string[];
}

/**
 * Creates the missing topics, then reads every topic back from the brokers (metadata, and the planned configs
 * with DescribeConfigs) and compares it with the plan: a topic created now is checked as one that existed.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicReport[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  const notCreated = missing.length > 0 ? await createTopics(admin, missing) : new Map<string, string>();
  const readable = specs.map((spec) => spec.topic).filter((topic) => !notCreated.has(topic));

  // A topic created a moment ago is unknown to the brokers the controller has not told yet: retried.
  const { topics } =
    readable.length > 0
      ? await retryingRetriable(() => admin.fetchTopicMetadata({ topics: readable }))
      : { topics: [] };
  const configs = await topicConfigs(admin, readable, specs);
  return specs.map((spec): TopicReport => {
    const refusal = notCreated.get(spec.topic);
    if (refusal !== undefined) {
      return {
        topic: spec.topic,
        status: 'failed',
        partitions: undefined,
        replicationFactor: undefined,
        cleanupPolicy: undefined,
        minInsyncReplicas: undefined,
        problems: [`could not be created: ${refusal}`],
      };
    }
    const metadata = topics.find((topic) => topic.name === spec.topic);
    const actual = configs.get(spec.topic);
    const partitions = metadata?.partitions.length;
    const replicationFactor = metadata?.partitions[0]?.replicas.length;
    const problems = differences(spec, partitions, replicationFactor, actual);
    return {
      topic: spec.topic,
      status: problems.length > 0 ? 'differs' : existing.has(spec.topic) ? 'exists' : 'created',
      partitions,
      replicationFactor,
      cleanupPolicy: actual?.get(CLEANUP_POLICY),
      minInsyncReplicas: actual?.get(MIN_INSYNC_REPLICAS),
      problems,
    };
  });
}

/** Creates the topics; the brokers' reason for each topic they refused. */
async function createTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<Map<string, string>> {
  const toCreate: ITopicConfig[] = specs.map((spec) => ({
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor,
    configEntries: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
  }));
  try {
    // Not kafkajs' waitForLeaders: it fails on the UNKNOWN_TOPIC_OR_PARTITION a broker answers until the
    // controller has told it; the read-back below waits for the topics instead.
    await admin.createTopics({ topics: toCreate, waitForLeaders: false });
    return new Map();
  } catch (error) {
    // kafkajs aggregates one error per refused topic (the others were created); any other error refused all.
    const perTopic = (error as { errors?: { topic?: string; message: string }[] }).errors ?? [];
    if (perTopic.length > 0 && perTopic.every((refusal) => refusal.topic !== undefined)) {
      return new Map(perTopic.map((refusal) => [refusal.topic!, refusal.message]));
    }
    return new Map(specs.map((spec) => [spec.topic, (error as Error).message]));
  }
}

/** What differs from the plan, in the operator's terms; configs the brokers would not report are not judged. */
function differences(
  spec: TopicSpec,
  partitions: number | undefined,
  replicationFactor: number | undefined,
  actual: ReadonlyMap<string, string> | undefined,
): string[] {
  const problems: string[] = [];
  if (partitions !== spec.partitions) {
    problems.push(`has ${partitions} partitions, planned ${spec.partitions} (left as is: keys would move)`);
  }
  if (replicationFactor !== undefined && replicationFactor < spec.replicationFactor) {
    problems.push(`has replication factor ${replicationFactor}, planned ${spec.replicationFactor}`);
  }
  if (actual === undefined) return problems;
  for (const [name, planned] of Object.entries(spec.configs)) {
    const value = actual.get(name);
    if (value === undefined || value === planned) continue;
    if (name === CLEANUP_POLICY) {
      if (!value.includes('compact'))
        problems.push(`has ${name}=${value}: state would be deleted by retention; set compact`);
    } else if (name === COMPACTION_LAG) {
      if (Number(value) < Number(planned))
        problems.push(
          `has ${name}=${value}: compaction may forget blocks the 30-day self-service rule reads; set ${planned}`,
        );
    } else if (name === MIN_INSYNC_REPLICAS) {
      problems.push(
        `has ${name}=${value}, planned ${planned}: ${Number(value) < Number(planned) ? 'an acknowledged write may be lost with one broker' : 'writes stop when one broker fails'}`,
      );
    } else {
      problems.push(`has ${name}=${value}, planned ${planned}`);
    }
  }
  return problems;
}

/** The planned configs of each topic as the brokers report them; empty when they do not implement DescribeConfigs. */
async function topicConfigs(
  admin: Admin,
  topics: readonly string[],
  specs: readonly TopicSpec[],
): Promise<Map<string, Map<string, string>>> {
  const configs = new Map<string, Map<string, string>>();
  if (topics.length === 0) return configs;
  const names = [...new Set(specs.flatMap((spec) => Object.keys(spec.configs)))];
  try {
    const { resources } = await retryingRetriable(() =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({
          // A named import fails: Node's CommonJS export detection does not see this one in kafkajs 2.2.
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name,
          configNames: names,
        })),
      }),
    );
    for (const resource of resources) {
      configs.set(
        resource.resourceName,
        new Map(resource.configEntries.map((entry) => [entry.configName, entry.configValue])),
      );
    }
  } catch {
    // Reported as unknown: the table says the brokers would not tell.
  }
  return configs;
}
