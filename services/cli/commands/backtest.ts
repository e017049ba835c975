// `relayguard backtest`: replays recorded traffic through the policy in force and candidate policies, in event
// time, in this process: nothing is published, no window is stored, production state is never touched.
import { readFileSync, writeFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import { directoryResolver, parseClientMap } from '../../backtest/client-map.js';
import { Backtest, type NamedPolicy } from '../../backtest/engine.js';
import { renderBacktestHtml } from '../../backtest/html-report.js';
import { parsePoliciesFile, parsePolicySpec, policiesToRun } from '../../backtest/policies.js';
import { type BacktestResult, type EventSource, inTimeRange, type TimeRange } from '../../backtest/source.js';
import { loadTenants } from '../../backtest/tenants-file.js';
import type { ScoredEvent } from '../../core/classify.js';
import { TenantDirectory } from '../../core/directory.js';
import { isRelayguardError, RelayguardError } from '../../core/errors.js';
import type { Config } from '../../platform/config.js';
import { createLogger } from '../../platform/logger.js';
import { renderBacktestText } from '../backtest/report-text.js';
import { eventsFileSource, kafkaTopicSource, postfixLogSource } from '../backtest/sources.js';
import { ExitCode } from '../exit-codes.js';
import { oneShotLogLevel } from '../options.js';

const SCORE_BATCH = 200_000;

export interface BacktestOptions {
  readonly events: readonly string[];
  readonly postfix: readonly string[];
  /** Read the message-submitted topic of the configured Kafka (within the time range). */
  readonly kafka: boolean;
  readonly tenants: string | undefined;
  readonly clients: string | undefined;
  readonly year: number;
  readonly syslogUtc: boolean;
  readonly policy: readonly string[];
  readonly policies: string | undefined;
  readonly range: TimeRange;
  readonly json: boolean;
  readonly html: string | undefined;
  /** --debug: the Kafka source logs at debug level. */
  readonly debug?: boolean;
}

function usage(message: string, field: string): RelayguardError {
  return new RelayguardError('INVALID_FIELD', message, { field });
}

function readText(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw usage(
      `${option} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      option,
    );
  }
}

function readJson(path: string, option: string): unknown {
  try {
    return JSON.parse(readText(path, option));
  } catch (error) {
    if (isRelayguardError(error)) throw error;
    throw usage(`${option} ${path}: not JSON (${(error as Error).message})`, option);
  }
}

function candidates(config: Config, options: BacktestOptions): NamedPolicy[] {
  const fromFile = options.policies
    ? parsePoliciesFile(config.policy, readJson(options.policies, '--policies'), options.policies)
    : [];
  const fromFlags = options.policy.map((spec, i) =>
    parsePolicySpec(config.policy, spec, fromFile.length + i),
  );
  return policiesToRun(config.policy, [...fromFile, ...fromFlags]);
}

function openSource(
  config: Config,
  options: BacktestOptions,
  directory: TenantDirectory,
): EventSource & { close?(): Promise<void> } {
  const given = [options.events.length > 0, options.postfix.length > 0, options.kafka].filter(Boolean);
  if (given.length !== 1)
    throw usage('give exactly one source: --events <file...>, --postfix <log...> or --kafka', 'source');
  if (options.events.length > 0) return eventsFileSource(options.events);
  if (options.kafka) {
    // Logs go to stderr: stdout carries the report.
    const level = oneShotLogLevel(config.logLevel, options.debug === true);
    return kafkaTopicSource(config, options.range, createLogger(level, process.stderr));
  }
  if (!options.clients && !options.tenants)
    throw usage(
      '--postfix needs --tenants (a tenants file whose connectors name client ranges) or --clients (a mapping file)',
      'tenants',
    );
  const resolve = options.clients
    ? parseClientMap(readText(options.clients, '--clients'), options.clients)
    : directoryResolver(directory);
  return postfixLogSource(options.postfix, {
    resolve,
    year: options.year,
    syslogZone: options.syslogUtc ? 'utc' : 'local',
  });
}

/** Runs the backtest; resolves to the report (also printed) so tests and tools can use it. */
export async function runBacktest(
  config: Config,
  options: BacktestOptions,
  stderr: NodeJS.WritableStream = process.stderr,
): Promise<BacktestResult> {
  const directory = options.tenants
    ? loadTenants(readJson(options.tenants, '--tenants'), options.tenants)
    : new TenantDirectory();
  const policies = candidates(config, options);
  const source = openSource(config, options, directory);
  const backtest = new Backtest(directory, policies);

  const initial = source.progress();
  const unit = initial.unit === 'bytes' ? 'MiB' : 'records';
  const bar = new SingleBar({
    format: `reading [{bar}] {percentage}% | {read} of {size} ${unit} | {events} events`,
    stream: stderr,
    hideCursor: true,
  });
  const amount = (n: number | null) =>
    n === null ? '?' : initial.unit === 'bytes' ? (n / 1_048_576).toFixed(1) : n.toLocaleString('en-US');
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  bar.start(initial.total ?? 0, 0, { read: amount(0), size: amount(initial.total), events: 0 });
  let events = 0;
  // Scored in large batches: the engine groups a batch by tenant, and the larger the batch, the more events of
  // each tenant it scores while that tenant's windows are in the CPU cache (services/backtest/engine.ts).
  let pending: ScoredEvent[] = [];
  for await (const batch of source.batches()) {
    for (const event of batch) if (inTimeRange(options.range, event.occurredAt)) pending.push(event);
    if (pending.length >= SCORE_BATCH) {
      backtest.addBatch(pending);
      pending = [];
    }
    events += batch.length;
    const progress = source.progress();
    // A topic's total is known only once its partitions report their lag.
    if (progress.total !== null) bar.setTotal(progress.total);
    bar.update(progress.done, {
      read: amount(progress.done),
      size: amount(progress.total),
      events: events.toLocaleString('en-US'),
    });
  }
  backtest.addBatch(pending);
  bar.stop();
  await source.close?.();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  // CPU seconds too: on a shared machine the wall clock says more about the neighbours than about the backtest.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rate = (per: number) => Math.round(events / per).toLocaleString('en-US');
  stderr.write(
    `relayguard backtest: ${events.toLocaleString('en-US')} events through ${policies.length} policies in ${seconds.toFixed(1)} s, ${cpuSeconds.toFixed(1)} CPU s (${rate(seconds)} events/s, ${rate(cpuSeconds)} per CPU second)\n`,
  );
  const result: BacktestResult = { source: source.summary(), ...backtest.report() };
  if (options.html) writeFileSync(options.html, renderBacktestHtml(result, backtest.plots()));
  return result;
}

export async function backtest(config: Config, options: BacktestOptions): Promise<number> {
  let result: BacktestResult;
  try {
    result = await runBacktest(config, options);
  } catch (error) {
    if (!isRelayguardError(error) || error.retryable) throw error;
    process.stderr.write(`relayguard backtest: ${error.message}\n`);
    return ExitCode.USAGE;
  }
  process.stdout.write(
    options.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderBacktestText(result)}\n`,
  );
  return ExitCode.OK;
}
