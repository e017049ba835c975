// File sources for `relayguard backtest`: recorded events (JSON lines) and Postfix mail logs, streamed from disk
// (or standard input, `-`) in 1 MiB chunks split into lines here: a day of traffic is tens of millions of lines,
// and readline's per-line events cost more than the split. Progress is counted in bytes read. And the
// message-submitted topic of the configured Kafka.
import { createReadStream, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { decodeEventLine } from '../../backtest/event-lines.js';
import { eventLogSource } from '../../backtest/log-source.js';
import {
  type PostfixLogOptions,
  PostfixLogParser,
  type PostfixLogStats,
} from '../../backtest/postfix-log.js';
import {
  type EventSource,
  ProblemCounter,
  type SourceProgress,
  type TimeRange,
} from '../../backtest/source.js';
import type { MessageSubmitted } from '../../core/contracts.generated.js';
import { RelayguardError } from '../../core/errors.js';
import { Topics } from '../../core/topics.js';
import { RegistryCodec } from '../../platform/codec/registry-codec.js';
import type { Config } from '../../platform/config.js';
import { KafkaEventLog } from '../../platform/kafka/kafka-event-log.js';
import type { Logger } from '../../platform/logger.js';

const CHUNK = 1 << 20;

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    throw new RelayguardError(
      'INVALID_FIELD',
      `${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { field: 'source' },
    );
  }
}

/** Reads the files in turn and calls `onLine` for every line (numbered across all files), in order. */
function lineSource(
  paths: readonly string[],
  onLine: (line: string, lineNumber: number) => MessageSubmitted | null,
): Pick<EventSource, 'batches' | 'progress'> {
  const total = paths.includes('-') ? null : paths.reduce((sum, path) => sum + sizeOf(path), 0);
  let done = 0;
  let lineNumber = 0;
  async function* batches(): AsyncGenerator<readonly MessageSubmitted[]> {
    for (const path of paths) {
      const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: CHUNK });
      const decoder = new StringDecoder('utf8');
      let rest = '';
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        done += chunk.length;
        const text = rest + decoder.write(chunk);
        const batch: MessageSubmitted[] = [];
        let start = 0;
        for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
          const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
          const event = onLine(text.slice(start, end), ++lineNumber);
          if (event !== null) batch.push(event);
          start = newline + 1;
        }
        rest = text.slice(start);
        if (batch.length > 0) yield batch;
      }
      rest += decoder.end();
      if (rest !== '') {
        const event = onLine(rest, ++lineNumber);
        if (event !== null) yield [event];
      }
    }
  }
  return { batches, progress: (): SourceProgress => ({ done, total, unit: 'bytes' }) };
}

function describeFiles(kind: string, paths: readonly string[]): string {
  const names = paths.map((path) => (path === '-' ? 'standard input' : path));
  return `${kind} ${names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ')}`;
}

/** JSON lines of MessageSubmitted, as `relayguard simulate --record` writes them. */
export function eventsFileSource(paths: readonly string[]): EventSource {
  const problems = new ProblemCounter();
  let lines = 0;
  const source = lineSource(paths, (line, lineNumber) => {
    lines++;
    if (line.trim() === '') return null;
    const event = decodeEventLine(line);
    if (event === null) problems.add('malformed', lineNumber);
    return event;
  });
  const description = describeFiles('events file', paths);
  return {
    description,
    ...source,
    summary: () => ({ description, problems: problems.toJSON(), details: { lines } }),
  };
}

/** Postfix mail logs joined by queue id into events (services/backtest/postfix-log.ts). */
export function postfixLogSource(paths: readonly string[], options: PostfixLogOptions): EventSource {
  const parser = new PostfixLogParser(options);
  let stats: PostfixLogStats | null = null;
  const source = lineSource(paths, (line) => parser.line(line));
  const description = describeFiles('Postfix log', paths);
  return {
    description,
    progress: source.progress,
    async *batches() {
      yield* source.batches();
      stats = parser.finish();
    },
    summary: () => {
      const { problems, ...details } = stats ?? parser.finish();
      return { description, problems, details };
    },
  };
}

/**
 * The message-submitted topic of the configured Kafka and Schema Registry, read without a consumer group
 * (services/backtest/log-source.ts): no offsets are committed, nothing is published. Close it when done.
 */
export function kafkaTopicSource(
  config: Config,
  range: TimeRange,
  logger: Logger,
): EventSource & { close(): Promise<void> } {
  if (!config.kafka || !config.schemaRegistry)
    throw new RelayguardError(
      'INVALID_FIELD',
      '--kafka reads the topic of the configured Kafka: set KAFKA_BROKERS and SCHEMA_REGISTRY_URL',
      { field: 'KAFKA_BROKERS' },
    );
  const log = new KafkaEventLog({ kafka: config.kafka, logger });
  const source = eventLogSource(
    log,
    new RegistryCodec(config.schemaRegistry),
    range,
    `Kafka topic ${Topics.messageSubmitted} at ${config.kafka.brokers.join(',')}`,
    config.maxClockSkewMs,
  );
  return { ...source, close: () => log.close() };
}
