#!/usr/bin/env node
// The `relayguard` executable. Configuration comes from the environment (see README.md), options from the
// command line; exit codes are listed in exit-codes.ts.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Config, loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { projectPath } from '../platform/project-files.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerDlqCommands } from './commands/dlq.js';
import { kafkaAction as kafkaActionOf } from './commands/kafka-action.js';
import { registerServiceCommands } from './commands/services.js';
import { describeFailure } from './errors.js';
import { integer, isoTime, number, partitionList } from './options.js';
import { SCENARIOS } from './simulation/fleet.js';

// `npm run relayguard -- ...` runs in the repository: the user's relative paths (--tenants tenants.json) are
// relative to where they typed the command, which npm passes as INIT_CWD.
if (process.env.npm_lifecycle_event === 'relayguard' && process.env.INIT_CWD) {
  process.chdir(process.env.INIT_CWD);
}

function config(): Config {
  const loaded = loadConfig(process.env);
  for (const warning of loaded.warnings) process.stderr.write(`relayguard: warning: ${warning}\n`);
  return loaded;
}

function debugRequested(): boolean {
  return program.opts().debug === true;
}

const kafkaAction = kafkaActionOf(config, debugRequested);

const { version } = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string };

const program = new Command('relayguard')
  .description('Blocks mail-relay tenants whose compromised servers relay spam from unregistered domains.')
  .version(version)
  .option('--debug', 'print the stack trace of an unexpected failure', false)
  .showHelpAfterError()
  .exitOverride();

registerServiceCommands(program, config);

program
  .command('simulate')
  .description('run a synthetic relay fleet against an embedded pipeline and report who was blocked')
  .addOption(
    new Option(
      '--scenario <name>',
      "whose on-premises server is compromised: a hybrid tenant's (onprem), a school's whose FORWARDED connector carries its students' legitimate unregistered mail (forwarding), or one of a tenant's two servers, its spam moving to the other 10 minutes in (moving)",
    )
      .choices(SCENARIOS)
      .default('onprem'),
  )
  .option('--tenants <n>', 'ordinary hybrid tenants', integer('--tenants', 0), 50)
  .option('--forwarders <n>', 'forwarding-heavy tenants', integer('--forwarders', 0), 5)
  .option('--minutes <n>', 'minutes of event time to simulate', integer('--minutes', 1), 90)
  .option('--rate <n>', 'messages a minute per tenant', integer('--rate', 1), 20)
  .option('--spam <n>', 'spam messages a minute from the compromised tenant', integer('--spam', 1), 60)
  .option(
    '--compromise-at <minute>',
    'minute at which the compromised tenant starts to spam',
    integer('--compromise-at', 0),
    30,
  )
  .option('--seed <n>', 'random seed', integer('--seed', 0), 1)
  .addOption(new Option('--start <iso>', 'event time of the first minute').default('2026-11-28T09:00:00Z'))
  .option('--json', 'print the summary as JSON', false)
  .option(
    '--record <file>',
    'also write the messages the relays offered (refused ones too, each saying whether it is spam) as JSON lines (the `backtest --events` format)',
  )
  .option(
    '--record-tenants <file>',
    'with --record: also write the simulated tenants (the `backtest --tenants` format)',
  )
  .option(
    '--plot <file.svg>',
    "write an SVG plot of the compromised tenant's volume, the thresholds and the block",
  )
  .option(
    '--target <url>',
    'drive a running relayguard through its Postfix policy server instead, as a relay fleet would: policy://host:port (the fleet is registered through its admin API: --url, --token)',
  )
  .option('--connections <n>', 'with --target: policy connections at once', integer('--connections', 1), 8)
  .option('--url <url>', 'with --target: admin API base URL (default: RELAYGUARD_URL)')
  .option('--token <token>', 'with --target: operator bearer token (default: RELAYGUARD_TOKEN)')
  .action(async (opts) => {
    const start = Date.parse(opts.start);
    if (Number.isNaN(start)) throw new InvalidArgumentError('--start must be an ISO 8601 time');
    if (opts.compromiseAt >= opts.minutes) {
      throw new InvalidArgumentError(
        `--compromise-at ${opts.compromiseAt} must be below --minutes ${opts.minutes}, or the compromise never happens`,
      );
    }
    const cfg = config();
    const fleet = {
      scenario: opts.scenario,
      tenants: opts.tenants,
      forwarders: opts.forwarders,
      minutes: opts.minutes,
      ratePerMinute: opts.rate,
      spamPerMinute: opts.spam,
      compromiseMinute: opts.compromiseAt,
      seed: opts.seed,
      start,
      json: opts.json,
    };
    if (opts.target !== undefined) {
      if (opts.record !== undefined || opts.plot !== undefined)
        throw new InvalidArgumentError('--record and --plot are for embedded runs; drop them with --target');
      const { simulatePolicyTarget } = await import('./commands/simulate-policy.js');
      process.exitCode = await simulatePolicyTarget(cfg, {
        ...fleet,
        target: opts.target,
        connections: opts.connections,
        url: opts.url,
        token: opts.token,
      });
      return;
    }
    const { simulate } = await import('./commands/simulate.js');
    process.exitCode = await simulate(
      cfg,
      {
        ...fleet,
        record: opts.record,
        recordTenants: opts.recordTenants,
        plot: opts.plot,
      },
      createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel),
    );
  });

const collect = (value: string, previous: string[]) => [...previous, value];

program
  .command('backtest')
  .description(
    'replay recorded traffic through the policy in force and candidate policies; report who would be blocked',
  )
  .option(
    '--events <file...>',
    'JSON lines of MessageSubmitted (as `simulate --record` writes them; - for standard input)',
    [],
  )
  .option(
    '--postfix <log...>',
    'Postfix mail logs (syslog or maillog_file); smtpd, cleanup and qmgr lines are joined by queue id',
    [],
  )
  .option(
    '--kafka',
    'read the message-submitted topic of the configured Kafka (KAFKA_BROKERS, SCHEMA_REGISTRY_URL) from the start of retention, without a consumer group; --from/--to pick the range',
    false,
  )
  .option(
    '--tenants <file>',
    'tenants file: accepted domains, connectors (client ranges) and policy overrides (JSON)',
  )
  .option(
    '--clients <file>',
    'for --postfix: client address or CIDR to tenant mapping, one "<CIDR> <tenant> [relay path] [connector]" a line',
  )
  .option(
    '--year <yyyy>',
    'year of the first syslog line (syslog timestamps carry none)',
    integer('--year', 1970),
    new Date().getFullYear(),
  )
  .option('--syslog-utc', 'read syslog timestamps as UTC (default: the local time zone, TZ)', false)
  .option(
    '--policy <spec>',
    'a candidate policy, "name:key=value,...", e.g. strict:minUnregistered=250,minDistinctDomains=25 (repeatable)',
    collect,
    [],
  )
  .option('--policies <file>', 'candidate policies, JSON: [{"name": "strict", "minUnregistered": 250}, ...]')
  .option('--from <iso>', 'only events at or after this time', isoTime('--from'))
  .option('--to <iso>', 'only events before this time', isoTime('--to'))
  .option('--json', 'print the report as JSON', false)
  .option('--html <file>', 'also write a self-contained HTML report with a plot per blocked or close tenant')
  .action(async (opts) => {
    const { backtest } = await import('./commands/backtest.js');
    process.exitCode = await backtest(config(), {
      events: opts.events,
      postfix: opts.postfix,
      kafka: opts.kafka,
      tenants: opts.tenants,
      clients: opts.clients,
      year: opts.year,
      syslogUtc: opts.syslogUtc,
      policy: opts.policy,
      policies: opts.policies,
      range: { from: opts.from ?? null, to: opts.to ?? null },
      json: opts.json,
      html: opts.html,
      debug: debugRequested(),
    });
  });

registerAdminCommands(program, config);

program
  .command('topics')
  .description('create the Kafka topics (reporting those that exist) and register the Avro schemas')
  .option(
    '--partitions <n>',
    'partitions of the message-submitted topic and its DLQ (default: RELAYGUARD_PARTITIONS)',
    integer('--partitions', 1),
  )
  .option(
    '--state-partitions <n>',
    'partitions of the compacted state topics and the audit topic',
    integer('--state-partitions', 1),
    3,
  )
  .option(
    '--replication-factor <n>',
    'replicas of each partition (default: the number of brokers, at most 3)',
    integer('--replication-factor', 1),
  )
  .option(
    '--retention-hours <hours>',
    'how long the message-submitted topic keeps events (default 24; at least the window and its grace)',
    number('--retention-hours', { min: 0 }),
  )
  .option('--json', 'print the report as JSON', false)
  .action(
    kafkaAction(
      async () => (await import('./commands/topics.js')).topics,
      (opts) => ({
        partitions: opts.partitions,
        statePartitions: opts.statePartitions,
        replicationFactor: opts.replicationFactor,
        retentionHours: opts.retentionHours,
        json: opts.json,
      }),
    ),
  );

program
  .command('schemas')
  .description('Avro schema tools')
  .command('check')
  .description(
    'check that the schemas can be registered over the versions in the Schema Registry (BACKWARD_TRANSITIVE)',
  )
  .option('--schemas <dir>', 'directory with the .avsc files (default: the schemas/ of this installation)')
  .option('--json', 'print the results as JSON', false)
  .action(async (opts) => {
    const { schemasCheck } = await import('./commands/schemas.js');
    process.exitCode = await schemasCheck(config(), { schemasDir: opts.schemas, json: opts.json });
  });

program
  .command('rebuild-windows')
  .description(
    'after Redis lost its data: replay what the windows need of the message-submitted topic, partition by partition, to rebuild them; stop the scorers first',
  )
  .option(
    '--from <iso>',
    'records written at or after this time (default: now less the window, the grace period and the clock skew accepted)',
    isoTime('--from'),
  )
  .option(
    '--partitions <list>',
    'only these partitions of message-submitted, e.g. 0-5,9 (split the work across processes; default: all)',
    partitionList,
  )
  .option('--json', 'print the summary as JSON', false)
  .action(
    kafkaAction(
      async () => (await import('./commands/rebuild-windows.js')).rebuildWindows,
      (opts) => ({ from: opts.from ?? null, partitions: opts.partitions ?? null, json: opts.json }),
    ),
  );

registerDlqCommands(program, kafkaAction);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const debug =
    program.opts().debug === true || ['debug', 'trace'].includes(process.env.RELAYGUARD_LOG_LEVEL ?? '');
  const failure = describeFailure(error, debug);
  if (failure.message !== undefined) process.stderr.write(`relayguard: ${failure.message}\n`);
  // A failed command does not linger on clients that keep reconnecting to a dependency that is down.
  process.exit(failure.exitCode);
}
