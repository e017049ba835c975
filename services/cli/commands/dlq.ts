// `relayguard dlq replay`: the command's options; dlq/replay.ts, loaded on use, selects and publishes.
import { type Command, InvalidArgumentError } from 'commander';
import { unknownReasons } from '../../scorer/dlq-replay.js';
import { isoTime } from '../options.js';
import type { KafkaAction } from './kafka-action.js';

export function registerDlqCommands(program: Command, kafkaAction: KafkaAction): void {
  const dlq = program.command('dlq').description('the dead-letter topic of message-submitted');
  dlq
    .command('replay')
    .description(
      'publish dead-lettered events again to message-submitted once their cause is fixed (e.g. a tenant onboarded after the retry window); each keeps its event id, so a second replay counts none twice',
    )
    .option(
      '--reason <code>',
      'dead letters of this error code, repeatable (default: UNKNOWN_TENANT)',
      (value: string, previous: string[] | undefined) => {
        const reasons = value.split(',').map((reason) => reason.trim());
        const unknown = unknownReasons(reasons);
        if (unknown.length > 0)
          throw new InvalidArgumentError(
            `${unknown.join(', ')} is not an error code of relayguard (e.g. UNKNOWN_TENANT, FUTURE_EVENT, INVALID_DOMAIN)`,
          );
        return [...(previous ?? []), ...reasons];
      },
    )
    .option(
      '--tenant <id>',
      'dead letters of this tenant, repeatable (default: every tenant)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--from <iso>', 'dead-lettered at or after this time', isoTime('--from'))
    .option('--to <iso>', 'dead-lettered before this time', isoTime('--to'))
    .option('--dry-run', 'say what would be published, and publish nothing', false)
    .option('--json', 'print the summary as JSON', false)
    .action(
      kafkaAction(
        async () => (await import('./dlq/replay.js')).dlqReplay,
        (opts) => ({
          reasons: opts.reason ?? ['UNKNOWN_TENANT'],
          tenants: opts.tenant,
          from: opts.from,
          to: opts.to,
          dryRun: opts.dryRun,
          json: opts.json,
        }),
      ),
    );
}
