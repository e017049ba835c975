// The creation of relayguard's topics from the plan (topic-plan.ts). Existing topics are reported, never altered:
// growing a keyed topic moves keys to other partitions, which breaks per-tenant order, and a config an operator
// set may be deliberate. Every topic, created now or not, is read back from the brokers and compared with the plan
// (`relayguard topics` exits 4 on a difference).
import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import { retryingRetriable } from './retriable.js';
import { EVENT_COMPRESSION, TopicConfig, type TopicSpec } from './topic-plan.js';

const { cleanupPolicy: CLEANUP_POLICY, minInsyncReplicas: MIN_INSYNC_REPLICAS } = TopicConfig;

export interface TopicReport {
  readonly topic: string;
  /** created now; exists as planned; differs from the plan (see problems); failed to create. */
  readonly status: 'created' | 'exists' | 'differs' | 'failed';
  readonly partitions: number | undefined;
  readonly replicationFactor: number | undefined;
  /** As the brokers report it (DescribeConfigs); undefined when they would not say (librdkafka's mock cluster). */
  readonly cleanupPolicy: string | undefined;
  readonly minInsyncReplicas: string | undefined;
  /** retention.ms (-1: kept for good); as the two below, undefined where the plan leaves it to compaction. */
  readonly retentionMs: string | undefined;
  /** compression.type, where the plan sets it. */
  readonly compression: string | undefined;
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
        retentionMs: undefined,
        compression: undefined,
        problems: [`could not be created: ${refusal}`],
      };
    }
    const metadata = topics.find((topic) => topic.name === spec.topic);
    const actual = configs.get(spec.topic);
    const partitions = metadata?.partitions.length;
    const replicationFactor = metadata?.partitions[0]?.replicas.length;
    const problems = differences(spec, partitions, replicationFactor, actual);
    const planned = (name: string) => (name in spec.configs ? actual?.get(name) : undefined);
    return {
      topic: spec.topic,
      status: problems.length > 0 ? 'differs' : existing.has(spec.topic) ? 'exists' : 'created',
      partitions,
      replicationFactor,
      cleanupPolicy: actual?.get(CLEANUP_POLICY),
      minInsyncReplicas: actual?.get(MIN_INSYNC_REPLICAS),
      retentionMs: planned(TopicConfig.retention),
      compression: planned(TopicConfig.compression),
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
    problems.push(
      `has ${name}=${value}${shown(name, value)}, planned ${planned}${shown(name, planned)}${consequence(name, value, planned)}`,
    );
  }
  return problems;
}

const DURATIONS: readonly string[] = [
  TopicConfig.retention,
  TopicConfig.segment,
  TopicConfig.minCompactionLag,
  TopicConfig.maxCompactionLag,
  TopicConfig.deleteRetention,
];

/** A duration config in the operator's units, after its milliseconds. */
function shown(name: string, value: string): string {
  if (!DURATIONS.includes(name)) return '';
  const ms = Number(value);
  if (ms < 0) return ' (forever)';
  const [unit, size] =
    ms >= 86_400_000 ? ['d', 86_400_000] : ms >= 3_600_000 ? ['h', 3_600_000] : ['min', 60_000];
  return ` (${Number((ms / size).toFixed(1))} ${unit})`;
}

/** What the difference does, when it loses state or events; nothing for one that only costs disk. */
function consequence(name: string, value: string, planned: string): string {
  const lower = (v: string) => (Number(v) < 0 ? Number.POSITIVE_INFINITY : Number(v));
  switch (name) {
    case TopicConfig.cleanupPolicy:
      return planned.includes('compact') && !value.includes('compact')
        ? ': state would be deleted by retention; set compact'
        : '';
    case TopicConfig.minCompactionLag:
      return lower(value) < lower(planned)
        ? ': compaction may forget blocks the 30-day self-service rule reads'
        : '';
    case TopicConfig.retention:
      return lower(value) < lower(planned)
        ? ': events are deleted sooner than planned (a scorer group down longer, or rebuild-windows, loses them)'
        : ': the topic grows beyond the scale plan';
    case TopicConfig.deleteRetention:
      return lower(value) < lower(planned)
        ? ': a reader replaying the topic may miss a tombstone and keep a removed domain or connector'
        : '';
    case TopicConfig.compression:
      // kafkajs decompresses gzip only: batches of any other codec fail the scorers' fetches.
      return value !== EVENT_COMPRESSION && value !== 'producer' && value !== 'uncompressed'
        ? ': kafkajs cannot read these batches'
        : '';
    case TopicConfig.minInsyncReplicas:
      return Number(value) < Number(planned)
        ? ': an acknowledged write may be lost with one broker'
        : ': writes stop when one broker fails';
    default:
      return '';
  }
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
