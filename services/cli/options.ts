// Parsers for numeric command-line options (and partition lists): a bad value is a usage error naming the option and its range.
import { InvalidArgumentError, Option } from 'commander';

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

export function number(name: string, rule: NumberRule) {
  return (value: string): number => {
    const parsed = Number(value);
    const ok =
      value.trim() !== '' &&
      Number.isFinite(parsed) &&
      (!rule.integer || Number.isInteger(parsed)) &&
      (rule.min === undefined || parsed >= rule.min) &&
      (rule.max === undefined || parsed <= rule.max);
    if (!ok) {
      const range = [rule.min !== undefined && `>= ${rule.min}`, rule.max !== undefined && `<= ${rule.max}`]
        .filter(Boolean)
        .join(' and ');
      throw new InvalidArgumentError(
        `${name} must be ${rule.integer ? 'an integer' : 'a number'} ${range}`.trim(),
      );
    }
    return parsed;
  };
}

/** `0-5,9`: partition numbers and ranges of them, each once, in order. */
export function partitionList(value: string): number[] {
  const partitions = new Set<number>();
  for (const part of value.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (!match || last < first)
      throw new InvalidArgumentError(
        `--partitions must list partition numbers or ranges, like 0-5,9 (got ${JSON.stringify(part)})`,
      );
    for (let partition = first; partition <= last; partition++) partitions.add(partition);
  }
  return [...partitions].sort((a, b) => a - b);
}

/** An option whose value must be a number within `rule`; its error message names the option. */
export function numberOption(flags: string, description: string, rule: NumberRule): Option {
  const option = new Option(flags, description);
  return option.argParser(number(option.long!, rule));
}

export function integer(name: string, min: number) {
  return number(name, { min, integer: true });
}

/**
 * The log level of a one-shot command that talks to Kafka (topics, rebuild-windows, backtest --kafka): by default
 * it prints its result and a failure in one line; kafkajs's connection retries show with RELAYGUARD_LOG_LEVEL=warn
 * (or lower) or --debug.
 */
export function oneShotLogLevel(configured: string, debug: boolean): string {
  if (debug) return 'debug';
  return configured === 'info' ? 'fatal' : configured;
}

/** An ISO 8601 time option, as epoch milliseconds. */
export function isoTime(name: string) {
  return (value: string): number => {
    const parsed = Date.parse(value);
    if (Number.isNaN(parsed))
      throw new InvalidArgumentError(`${name} must be an ISO 8601 time, like 2026-11-28T09:00:00Z`);
    return parsed;
  };
}
