import { SingleBar } from 'cli-progress';
import type { Config } from '../../platform/config.js';
import type { Logger } from '../../platform/logger.js';
import { ExitCode } from '../exit-codes.js';
import { renderSimulationSummary } from '../simulation/report.js';
import { runSimulation, type SimulationOptions } from '../simulation/run.js';

export async function simulate(
  config: Config,
  options: SimulationOptions & { json: boolean },
  logger: Logger,
): Promise<number> {
  const bar = new SingleBar({
    format: 'simulating [{bar}] {value}/{total} minutes of event time | {messages} messages',
    stream: process.stderr,
    hideCursor: true,
  });
  bar.start(options.minutes, 0, { messages: 0 });
  const summary = await runSimulation(config, options, logger, (minute, messages) =>
    bar.update(minute, { messages: messages.toLocaleString('en-US') }),
  );
  bar.stop();
  process.stdout.write(
    options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${renderSimulationSummary(summary)}\n`,
  );
  return summary.ok ? ExitCode.OK : ExitCode.UNEXPECTED_RESULT;
}
