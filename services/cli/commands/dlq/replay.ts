// `relayguard dlq replay`: publish dead-lettered events again to message-submitted once their cause is fixed
// (services/scorer/dlq-replay.ts), and say what was selected, by reason and tenant.
import { RelayguardError } from '../../../core/errors.js';
import { Topics } from '../../../core/topics.js';
import type { Config } from '../../../platform/config.js';
import { deferred } from '../../../platform/deferred.js';
import { KafkaEventLog } from '../../../platform/kafka/kafka-event-log.js';
import type { Logger } from '../../../platform/logger.js';
import { type DlqReplaySummary, type DlqSelection, replayDeadLetters } from '../../../scorer/dlq-replay.js';
import { ExitCode } from '../../exit-codes.js';
import { renderTable } from '../../table.js';

export interface DlqReplayOptions extends DlqSelection {
  readonly dryRun: boolean;
  readonly json: boolean;
}

export async function dlqReplay(config: Config, options: DlqReplayOptions, logger: Logger): Promise<number> {
  if (!config.kafka)
    throw new RelayguardError(
      'INVALID_CONFIG',
      'invalid configuration:\n  KAFKA_BROKERS: is required by dlq replay',
      {
        field: 'KAFKA_BROKERS',
      },
    );
  // A consumer that will not restart (an ACL refusal) ends the command with its error instead of a wait.
  const fatal = deferred<Error>();
  const log = new KafkaEventLog({
    kafka: config.kafka,
    logger: logger.child({ component: 'kafka' }),
    onFatal: (error) => fatal.resolve(error),
  });
  try {
    const summary = await Promise.race([
      replayDeadLetters(log, options, {
        dryRun: options.dryRun,
        onProgress: (read) => {
          if (!options.json && process.stderr.isTTY) process.stderr.write(`\rreading dead letters: ${read}`);
        },
      }),
      fatal.promise.then((error) => Promise.reject(error)),
    ]);
    if (!options.json && process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${render(summary, options)}\n`);
    return ExitCode.OK;
  } finally {
    await log.close();
  }
}

function render(summary: DlqReplaySummary, selection: DlqSelection): string {
  const criteria = [
    `reason ${selection.reasons?.join(', ') ?? 'any'}`,
    selection.tenants ? `tenant ${selection.tenants.join(', ')}` : 'any tenant',
    selection.from !== undefined ? `dead-lettered from ${new Date(selection.from).toISOString()}` : '',
    selection.to !== undefined ? `before ${new Date(selection.to).toISOString()}` : '',
  ].filter(Boolean);
  const lines = [
    `${summary.read} dead letters read from ${Topics.messageSubmittedDlq}; ${summary.selected} selected (${criteria.join('; ')})`,
  ];
  if (summary.groups.length > 0)
    lines.push(
      '',
      renderTable(
        ['reason', 'tenant', 'events', 'first dead-lettered', 'last dead-lettered'],
        summary.groups.map((group) => [
          group.reason,
          group.tenantId || '(no key)',
          String(group.events),
          new Date(group.firstDeadLettered).toISOString(),
          new Date(group.lastDeadLettered).toISOString(),
        ]),
      ),
      '',
    );
  lines.push(
    summary.dryRun
      ? 'dry run: nothing published'
      : `${summary.republished} published again to ${Topics.messageSubmitted}, each with its event id: a second replay counts none of them twice`,
  );
  return lines.join('\n');
}
