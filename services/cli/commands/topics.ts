// `relayguard topics`: creates the topics relayguard needs (reports those that exist), then registers the
// schemas under `<topic>-value` with BACKWARD_TRANSITIVE compatibility. docker-compose runs it before the
// services; it changes nothing that exists, so it is safe to run again.
import { InvalidArgumentError } from 'commander';
import { RelayguardError } from '../../core/errors.js';
import { RegistryCodec, subjectOf } from '../../platform/codec/registry-codec.js';
import type { Config } from '../../platform/config.js';
import { createKafka } from '../../platform/kafka/kafka-client.js';
import { ensureTopics, type TopicReport } from '../../platform/kafka/topic-admin.js';
import { minimumMessageRetentionMs, plannedTopics } from '../../platform/kafka/topic-plan.js';
import type { Logger } from '../../platform/logger.js';
import { ExitCode } from '../exit-codes.js';
import { renderTable } from '../table.js';

export interface TopicsOptions {
  /** Defaults to RELAYGUARD_PARTITIONS. */
  readonly partitions?: number;
  readonly statePartitions: number;
  /** Defaults to the number of brokers, at most 3. */
  readonly replicationFactor?: number;
  /** How long message-submitted keeps events; defaults to the plan's (a day). */
  readonly retentionHours?: number;
  readonly json: boolean;
}

export interface TopicsResult {
  readonly topics: readonly TopicReport[];
  readonly schemas: readonly { subject: string; id: number }[];
  readonly schemaError: string | undefined;
  readonly exitCode: number;
}

export async function topics(config: Config, options: TopicsOptions, logger: Logger): Promise<number> {
  const result = await ensureTopicsAndSchemas(config, options, logger);
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderTopics(result)}\n`);
  return result.exitCode;
}

export async function ensureTopicsAndSchemas(
  config: Config,
  options: TopicsOptions,
  logger: Logger,
): Promise<TopicsResult> {
  if (!config.kafka || !config.schemaRegistry) {
    throw new RelayguardError(
      'INVALID_CONFIG',
      'invalid configuration:\n  KAFKA_BROKERS: is required by relayguard topics (and SCHEMA_REGISTRY_URL with it)',
      { field: 'KAFKA_BROKERS' },
    );
  }
  const messageRetentionMs = messageRetention(config, options.retentionHours);
  const admin = createKafka(config.kafka, logger).admin();
  await admin.connect();
  let reports: TopicReport[];
  try {
    const brokers = (await admin.describeCluster()).brokers.length;
    const specs = plannedTopics({
      partitions: options.partitions ?? config.partitions,
      statePartitions: options.statePartitions,
      replicationFactor: options.replicationFactor ?? Math.min(3, brokers),
      messageRetentionMs,
    });
    reports = await ensureTopics(admin, specs);
  } finally {
    await admin.disconnect();
  }

  let schemas: { subject: string; id: number }[] = [];
  let schemaError: string | undefined;
  try {
    const ids = await new RegistryCodec(config.schemaRegistry).registerAll();
    schemas = [...ids].map(([topic, id]) => ({ subject: subjectOf(topic), id }));
  } catch (error) {
    schemaError = (error as Error).message;
  }

  const failed = reports.some((report) => report.status === 'failed') || schemaError !== undefined;
  const differs = reports.some((report) => report.status === 'differs');
  return {
    topics: reports,
    schemas,
    schemaError,
    exitCode: failed ? ExitCode.FAILURE : differs ? ExitCode.UNEXPECTED_RESULT : ExitCode.OK,
  };
}

/** The retention asked for, refused when rebuild-windows could not rebuild a whole window from it. */
function messageRetention(config: Config, hours: number | undefined): number | undefined {
  if (hours === undefined) return undefined;
  const minimum = minimumMessageRetentionMs(config.policy);
  if (hours * 3_600_000 < minimum) {
    throw new InvalidArgumentError(
      `--retention-hours: ${hours} h is shorter than the window and its grace (${minimum / 60_000} min, RELAYGUARD_WINDOW_MINUTES + RELAYGUARD_GRACE_MINUTES): rebuild-windows could not rebuild a window`,
    );
  }
  return hours * 3_600_000;
}

export function renderTopics(result: TopicsResult): string {
  const topicTable = renderTable(
    [
      'topic',
      'status',
      'partitions',
      'replication',
      'cleanup.policy',
      'retention',
      'compression',
      'min.insync.replicas',
      'problems',
    ],
    result.topics.map((report) => [
      report.topic,
      report.status,
      String(report.partitions ?? '-'),
      String(report.replicationFactor ?? '-'),
      report.cleanupPolicy ?? '(brokers would not say)',
      report.retentionMs === undefined ? '-' : retention(report.retentionMs),
      report.compression ?? '-',
      report.minInsyncReplicas ?? '(brokers would not say)',
      report.problems.join('; '),
    ]),
  );
  const schemaTable =
    result.schemaError === undefined
      ? renderTable(
          ['subject', 'schema id'],
          result.schemas.map((schema) => [schema.subject, String(schema.id)]),
        )
      : `schemas not registered: ${result.schemaError}`;
  return `${topicTable}\n\n${schemaTable}`;
}

function retention(ms: string): string {
  const value = Number(ms);
  if (value < 0) return 'forever';
  return value % 86_400_000 === 0 ? `${value / 86_400_000} d` : `${Number((value / 3_600_000).toFixed(2))} h`;
}
