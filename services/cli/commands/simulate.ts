import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import { encodeEventLine } from '../../backtest/event-lines.js';
import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { ExitCode } from '../exit-codes.js';
import { renderAttackPlot } from '../simulation/plot.js';
import { renderSimulationSummary } from '../simulation/report.js';
import { runSimulation, type SimulationOptions, type SimulationRecorder } from '../simulation/run.js';

/**
 * Writes the messages the fleet offered as JSON lines (the `backtest --events` format, each saying whether it is
 * spam) and the tenants file.
 */
function fileRecorder(
  eventsPath: string,
  tenantsPath: string | undefined,
): SimulationRecorder & { close(): void } {
  const fd = openSync(eventsPath, 'w');
  return {
    tenants: (file) => {
      if (tenantsPath) writeFileSync(tenantsPath, `${JSON.stringify(file, null, 2)}\n`);
    },
    events: (messages) => {
      if (messages.length > 0)
        writeSync(
          fd,
          `${messages.map(({ event, spam }) => encodeEventLine({ ...event, spam })).join('\n')}\n`,
        );
    },
    close: () => closeSync(fd),
  };
}

export async function simulate(
  config: Config,
  options: SimulationOptions & { json: boolean; record?: string; recordTenants?: string; plot?: string },
  logger: Logger,
): Promise<number> {
  const recorder = options.record ? fileRecorder(options.record, options.recordTenants) : undefined;
  const bar = new SingleBar({
    format: 'simulating [{bar}] {value}/{total} minutes of event time | {messages} messages',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(options.minutes, 0, { messages: 0 });
  const summary = await runSimulation(config, { ...options, recorder }, logger, (minute, messages) =>
    bar.update(minute, { messages: messages.toLocaleString('en-US') }),
  ).finally(() => recorder?.close());
  bar.stop();
  if (options.plot) {
    await writeFile(options.plot, renderAttackPlot(summary));
    process.stderr.write(`wrote ${options.plot}\n`);
  }
  process.stdout.write(
    options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderSimulationSummary(summary)}\n`,
  );
  return summary.ok ? ExitCode.OK : ExitCode.UNEXPECTED_RESULT;
}
