// The one place where a failed command becomes what the user reads: one line (or the list of configuration
// problems) on stderr and an exit code from exit-codes.ts. A stack trace only with --debug or
// RELAYGUARD_LOG_LEVEL=debug: a refused connection or a taken port is the user's to fix, not a bug report.
import { CommanderError, InvalidArgumentError } from 'commander';
import { isRelayguardError } from '../core/errors.js';
import { CliError } from './admin-client.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

export interface Failure {
  /** What to print; undefined when commander already printed it (usage errors found while parsing). */
  readonly message: string | undefined;
  readonly exitCode: ExitCodeValue;
}

/** What went wrong, in the user's terms, and the exit code that says what kind of failure it was. */
export function describeFailure(error: unknown, debug: boolean): Failure {
  // Thrown by an action or a hook, after parsing: commander has not printed it.
  if (error instanceof InvalidArgumentError) return { message: error.message, exitCode: ExitCode.USAGE };
  if (error instanceof CommanderError) {
    const done = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
    return { message: undefined, exitCode: done ? ExitCode.OK : ExitCode.USAGE };
  }
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  const failure = classify(error);
  const stack = (error as Error | undefined)?.stack;
  if (debug && stack) return { ...failure, message: `${failure.message}\n${stack}` };
  if (failure.exitCode === ExitCode.FAILURE) {
    return { ...failure, message: `${failure.message} (--debug prints the stack trace)` };
  }
  return failure;
}

function classify(error: unknown): { message: string; exitCode: ExitCodeValue } {
  if (isRelayguardError(error) && error.code === 'INVALID_CONFIG') {
    return { message: error.message, exitCode: ExitCode.CONFIG };
  }
  // Kafka, the Schema Registry or Redis could not be reached: worth retrying, not a bug.
  if (isRelayguardError(error) && error.retryable) {
    return { message: error.message, exitCode: ExitCode.SERVER };
  }
  const kafka = kafkaFailure(error);
  if (kafka) return { message: kafka, exitCode: ExitCode.SERVER };
  const file = fileFailure(error);
  if (file) return { message: file, exitCode: ExitCode.USAGE };
  const connection = connectionFailure(error);
  if (connection) return { message: connection, exitCode: ExitCode.SERVER };
  return { message: oneLine(error), exitCode: ExitCode.FAILURE };
}

/** kafkajs wraps the cause (a refused connection, a SASL failure) in errors whose names start with KafkaJS. */
function kafkaFailure(error: unknown): string | undefined {
  if (!String((error as Error | undefined)?.name).startsWith('KafkaJS')) return undefined;
  return `Kafka could not be reached: ${oneLine(deepestCause(error))} (check KAFKA_BROKERS, and KAFKA_SSL / KAFKA_SASL_* if the brokers require them)`;
}

const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'name lookup failed',
};

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
};

/** A file named on the command line that cannot be read or written: the path as the user gave it. */
function fileFailure(error: unknown): string | undefined {
  const { code, path } = error as { code?: string; path?: string };
  const what = code === undefined ? undefined : FILE_ERRORS[code];
  return what && path !== undefined ? `${path}: ${what}` : undefined;
}

/** A socket error of a dependency nothing above named: say where it pointed. */
function connectionFailure(error: unknown): string | undefined {
  const { code, address, port, hostname } = error as {
    code?: string;
    address?: string;
    port?: number;
    hostname?: string;
  };
  const what = code === undefined ? undefined : SYSTEM_ERRORS[code];
  if (!what) return undefined;
  const where = hostname ?? (port === undefined ? address : `${address}:${port}`);
  return `cannot connect to ${where ?? 'a dependency'}: ${what} (${code})`;
}

function deepestCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const cause = (current as { cause?: unknown; originalError?: unknown }).cause;
    if (cause === undefined || cause === null) return current;
    current = cause;
  }
  return current;
}

/** The first line of an error's message: what a person reads on stderr. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || String((error as Error | undefined)?.name ?? 'error');
}
