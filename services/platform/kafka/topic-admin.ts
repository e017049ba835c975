// The topics relayguard needs, and their creation: partitions (the message-submitted topic and its DLQ scale
// with the scorers; the state topics are small), replication, `cleanup.policy=compact` for the state topics
// (the latest record per key is the current value, kept forever; tenant-blocks keeps every record for the block
// history's period before compaction). Existing topics are reported, never altered:
// growing a keyed topic moves keys to other partitions, which breaks per-tenant order.
import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import { BLOCK_HISTORY_MS, CompactedTopics, Topics } from '../../core/topics.js';

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

/** Topics whose partition count follows the scorer's scale. */
const SCALED_TOPICS: readonly string[] = [Topics.messageSubmitted, Topics.messageSubmittedDlq];

export function plannedTopics(options: TopicPlanOptions): TopicSpec[] {
  return Object.values(Topics).map((topic) => {
    const configs: Record<string, string> = {
      // With acks=all a write needs this many in-sync replicas: one broker may fail without losing an
      // acknowledged event (when there are 3 replicas).
      'min.insync.replicas': String(options.replicationFactor >= 3 ? 2 : 1),
    };
    if (CompactedTopics.includes(topic)) configs['cleanup.policy'] = 'compact';
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
  /** undefined when the brokers would not say (no DescribeConfigs, e.g. librdkafka's mock cluster). */
  readonly cleanupPolicy: string | undefined;
  readonly problems: readonly string[];
}

/** Creates the missing topics and compares the existing ones with the plan. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicReport[]> {
  const existing = new Set(await admin.listTopics());
  const present = specs.filter((spec) => existing.has(spec.topic));
  const missing = specs.filter((spec) => !existing.has(spec.topic));

  const reports = new Map<string, TopicReport>();
  if (present.length > 0) {
    const { topics } = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.topic) });
    const configs = await topicConfigs(
      admin,
      present.map((spec) => spec.topic),
    );
    for (const spec of present) {
      const metadata = topics.find((topic) => topic.name === spec.topic);
      const partitions = metadata?.partitions.length;
      const replicationFactor = metadata?.partitions[0]?.replicas.length;
      const cleanupPolicy = configs.get(spec.topic)?.get(CLEANUP_POLICY);
      const compactionLag = configs.get(spec.topic)?.get(COMPACTION_LAG);
      const problems: string[] = [];
      if (partitions !== spec.partitions) {
        problems.push(
          `has ${partitions} partitions, planned ${spec.partitions} (left as is: keys would move)`,
        );
      }
      if (replicationFactor !== undefined && replicationFactor < spec.replicationFactor) {
        problems.push(`has replication factor ${replicationFactor}, planned ${spec.replicationFactor}`);
      }
      const compact = spec.configs[CLEANUP_POLICY] === 'compact';
      if (compact && cleanupPolicy !== undefined && !cleanupPolicy.includes('compact')) {
        problems.push(
          `has cleanup.policy=${cleanupPolicy}: state would be deleted by retention; set compact`,
        );
      }
      const plannedLag = spec.configs[COMPACTION_LAG];
      if (
        plannedLag !== undefined &&
        compactionLag !== undefined &&
        Number(compactionLag) < Number(plannedLag)
      ) {
        problems.push(
          `has ${COMPACTION_LAG}=${compactionLag}: compaction may forget blocks the 30-day self-service rule reads; set ${plannedLag}`,
        );
      }
      reports.set(spec.topic, {
        topic: spec.topic,
        status: problems.length > 0 ? 'differs' : 'exists',
        partitions,
        replicationFactor,
        cleanupPolicy,
        problems,
      });
    }
  }

  if (missing.length > 0) {
    const toCreate: ITopicConfig[] = missing.map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.partitions,
      replicationFactor: spec.replicationFactor,
      configEntries: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
    }));
    let failure: string | undefined;
    try {
      await admin.createTopics({ topics: toCreate, waitForLeaders: true });
    } catch (error) {
      failure = (error as Error).message;
    }
    for (const spec of missing) {
      reports.set(spec.topic, {
        topic: spec.topic,
        status: failure === undefined ? 'created' : 'failed',
        partitions: failure === undefined ? spec.partitions : undefined,
        replicationFactor: failure === undefined ? spec.replicationFactor : undefined,
        cleanupPolicy: failure === undefined ? (spec.configs[CLEANUP_POLICY] ?? 'delete') : undefined,
        problems: failure === undefined ? [] : [`could not be created: ${failure}`],
      });
    }
  }
  return specs.map((spec) => reports.get(spec.topic)!);
}

/** cleanup.policy and min.compaction.lag.ms per topic; empty when the brokers do not implement DescribeConfigs. */
async function topicConfigs(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, Map<string, string>>> {
  const configs = new Map<string, Map<string, string>>();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        // A named import fails: Node's CommonJS export detection does not see this one in kafkajs 2.2.
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name,
        configNames: [CLEANUP_POLICY, COMPACTION_LAG],
      })),
    });
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
