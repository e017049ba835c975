// The action of a one-shot command against Kafka (topics, rebuild-windows, dlq replay): the tool is loaded on use
// and run with the configuration, its options and a logger, and its return value is the exit code.
import type { OptionValues } from 'commander';
import type { Config } from '../../platform/config.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { oneShotLogLevel } from '../options.js';

export type KafkaTool<Options> = (config: Config, options: Options, logger: Logger) => Promise<number>;

/** Builds the commander action of a Kafka tool from how to load it and how its options read the command line. */
export type KafkaAction = <Options>(
  load: () => Promise<KafkaTool<Options>>,
  options: (opts: OptionValues) => Options,
) => (opts: OptionValues) => Promise<void>;

export function kafkaAction(config: () => Config, debugRequested: () => boolean): KafkaAction {
  return (load, options) => async (opts) => {
    const cfg = config();
    const tool = await load();
    process.exitCode = await tool(cfg, options(opts), kafkaLogger(cfg, debugRequested()));
  };
}

/** Quiet but for the result and a failure, unless RELAYGUARD_LOG_LEVEL or --debug asks for kafkajs's retries. */
function kafkaLogger(cfg: Config, debug: boolean): Logger {
  return createLogger(oneShotLogLevel(cfg.logLevel, debug));
}
